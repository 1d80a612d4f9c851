//! The scheduled jobs' Lambda function: one function for the four EventBridge schedules,
//! the job named by the schedule's rule, the window by the event's time.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    aurum_jobs::run().await
}
