//! The cache's authentication, against a real Redis that, like the deployed cache, admits
//! only its users: the functions read the cache user's credentials from Secrets Manager
//! (moto) at start-up and authenticate every connection with them; refused credentials
//! stop start-up with a message that never holds a password.

use aurum::adapters::aws::redis::CacheStartError;
use aurum::adapters::aws::{AnyCache, AwsBackend, ConnectError};
use aurum::ports::Cache;
use aurum_tests::local_aws::{config, fresh_resources, sdk};
use std::time::Duration;

const USER: &str = "aurum-functions";
const PASSWORD: &str = "a3Kq9ZtWm2Lp7XvB4nRc8YdF6hJs1GeT";
const ADMIN_PASSWORD: &str = "admin-Pw7Qz2Lk9Rt4Xm";

/// A redis-server of its own on a free loopback port: the `default` user switched off, the
/// functions' user with its password, and an administrator for the test's own checks.
struct AclRedis {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl AclRedis {
    fn start() -> AclRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = dir.path().join("redis.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {dir}\n\
                 user default off\n\
                 user {USER} on >{PASSWORD} ~* +@all -@dangerous\n\
                 user admin on >{ADMIN_PASSWORD} ~* +@all\n",
                dir = dir.path().display()
            ),
        )
        .expect("write redis.conf");
        let child = std::process::Command::new("redis-server")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/services.sh installs it)");
        let server = AclRedis {
            child,
            port,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn admin(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(format!(
            "redis://admin:{ADMIN_PASSWORD}@127.0.0.1:{}",
            self.port
        ))
        .expect("admin url")
        .get_multiplexed_async_connection()
        .await
        .expect("admin connects")
    }
}

impl Drop for AclRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn secret(value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(&sdk().await)
        .create_secret()
        .name(format!(
            "aurum-cache-user-{}",
            uuid::Uuid::new_v4().simple()
        ))
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("arn")
        .to_owned()
}

fn credentials(password: &str) -> String {
    serde_json::json!({ "username": USER, "password": password }).to_string()
}

/// A function's configuration on fresh tables, the given cache and credentials' secret.
async fn function_config(redis_url: String, auth_secret: Option<String>) -> aurum::config::Config {
    let resources = fresh_resources();
    aurum::adapters::setup::setup(&sdk().await, &resources)
        .await
        .expect("setup");
    let mut c = config(resources, Some(redis_url));
    c.cache.auth_secret = auth_secret;
    c
}

async fn start_error(c: &aurum::config::Config) -> ConnectError {
    match AwsBackend::connect_with(&sdk().await, c).await {
        Err(e) => e,
        Ok(_) => panic!("the function started"),
    }
}

#[tokio::test]
async fn given_the_cache_users_secret_when_a_function_starts_then_it_authenticates_and_reauthenticates_on_reconnect()
 {
    // GIVEN a cache that admits only its users, and the functions' credentials in a secret
    let server = AclRedis::start();
    let mut anonymous = redis::Client::open(server.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("a connection is accepted");
    let refused: redis::RedisResult<Option<String>> = redis::cmd("GET")
        .arg("any")
        .query_async(&mut anonymous)
        .await;
    assert!(refused.is_err(), "the cache answers without authentication");
    let arn = secret(&credentials(PASSWORD)).await;
    let c = function_config(server.url(), Some(arn)).await;

    // WHEN a function starts
    let backend = AwsBackend::connect_with(&sdk().await, &c)
        .await
        .expect("starts with the secret's credentials");

    // THEN its cache is that Redis, reached as the functions' user
    assert!(matches!(*backend.cache, AnyCache::Redis(_)));
    backend
        .cache
        .set("auth:probe", "stored", Duration::from_secs(60))
        .await
        .expect("set");
    assert_eq!(
        backend
            .cache
            .get("auth:probe")
            .await
            .expect("get")
            .as_deref(),
        Some("stored")
    );
    let mut admin = server.admin().await;
    let stored: Option<String> = redis::cmd("GET")
        .arg("auth:probe")
        .query_async(&mut admin)
        .await
        .expect("admin get");
    assert_eq!(stored.as_deref(), Some("stored"));
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut admin)
        .await
        .expect("client list");
    assert!(
        clients
            .lines()
            .any(|l| l.contains(&format!(" user={USER} "))),
        "{clients}"
    );

    // AND WHEN the server drops its connections, THEN it connects again as the same user
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("USER")
        .arg(USER)
        .query_async(&mut admin)
        .await
        .expect("client kill");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(value)) = backend.cache.get("auth:probe").await {
            assert_eq!(value, "stored");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cache never came back after its connection was dropped"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn given_no_or_a_wrong_password_when_a_function_starts_then_it_is_refused_and_no_password_is_printed()
 {
    let server = AclRedis::start();
    let wrong = "wrong-Pw-4Jd8Qm2Xz7Lc5Vn";
    for (case, auth_secret) in [
        ("no credentials", None),
        ("a wrong password", Some(secret(&credentials(wrong)).await)),
    ] {
        // GIVEN a function with no credentials, or a wrong password, for the cache
        let c = function_config(server.url(), auth_secret).await;
        // WHEN it starts THEN it is refused with the cache's reason
        let err = start_error(&c).await;
        assert!(
            matches!(
                err,
                ConnectError::CacheStart(CacheStartError::Refused { .. })
            ),
            "{case}: {err}"
        );
        let message = err.to_string();
        assert!(message.contains("refused"), "{case}: {message}");
        // AND no password is in the message, or in its debug form
        for shown in [message, format!("{err:?}")] {
            assert!(
                !shown.contains(wrong) && !shown.contains(PASSWORD),
                "{case}: {shown}"
            );
        }
    }
}

#[tokio::test]
async fn given_an_unusable_secret_or_a_cleartext_url_when_a_function_starts_then_it_says_why_without_the_secret()
 {
    let server = AclRedis::start();
    // GIVEN a secret that is not the credentials' JSON, or no such secret
    let not_json = secret(PASSWORD).await;
    for (case, id) in [
        ("not JSON", not_json),
        (
            "missing",
            format!("aurum-no-such-secret-{}", uuid::Uuid::new_v4().simple()),
        ),
    ] {
        let c = function_config(server.url(), Some(id)).await;
        // WHEN a function starts THEN the secret is named as the cause, its value never
        let err = start_error(&c).await;
        assert!(matches!(err, ConnectError::CacheSecret(_)), "{case}: {err}");
        assert!(
            err.to_string().contains("AURUM_CACHE_AUTH_SECRET"),
            "{case}: {err}"
        );
        assert!(!err.to_string().contains(PASSWORD), "{case}: {err}");
    }
    // GIVEN good credentials but a plain redis:// URL to a host off this machine
    let c = function_config(
        "redis://cache.internal.example:6379".to_owned(),
        Some(secret(&credentials(PASSWORD)).await),
    )
    .await;
    // WHEN a function starts THEN the password is not sent in clear
    let err = start_error(&c).await;
    assert!(
        matches!(
            err,
            ConnectError::CacheStart(CacheStartError::Cleartext { .. })
        ),
        "{err}"
    );
    assert!(!err.to_string().contains(PASSWORD), "{err}");
}
