//! The buyer-feedback Lambda function behind API Gateway (HTTP API).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    aurum::function::run_http::<aurum_feedback::Feedback>().await
}
