//! Fresh databases for store tests: always a SQLite file, and a PostgreSQL database too when
//! `ACCORD_TEST_DATABASE_URL` names a server (CI starts a private one, see `.ci/postgres.sh`).

use accord_node::store::Store;

/// A database URL and whatever keeps it alive (the SQLite file's folder).
pub struct TestDatabase {
    pub url: String,
    pub backend: &'static str,
    _folder: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// The node's store on this database.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url, 4).await.unwrap()
    }
}

/// One fresh SQLite database, and one fresh PostgreSQL database when a server is configured.
pub async fn fresh_databases() -> Vec<TestDatabase> {
    // Store tests start here rather than in a federation: their logs are captured too.
    accord_telemetry::init_for_tests();
    let mut databases = vec![fresh_sqlite()];
    if let Ok(server_url) = std::env::var("ACCORD_TEST_DATABASE_URL") {
        databases.push(fresh_postgres(&server_url).await);
    }
    databases
}

/// A fresh SQLite file in its own temporary folder.
pub fn fresh_sqlite() -> TestDatabase {
    let folder = tempfile::tempdir().expect("temporary folder");
    let url = format!(
        "sqlite://{}?mode=rwc",
        folder.path().join("node.db").display()
    );
    TestDatabase {
        url,
        backend: "sqlite",
        _folder: Some(folder),
    }
}

/// A fresh PostgreSQL database on `server_url`'s server, by URL.
pub async fn fresh_postgres_url(server_url: &str) -> String {
    fresh_postgres(server_url).await.url
}

async fn fresh_postgres(server_url: &str) -> TestDatabase {
    let url = accord_edge::testing::fresh_postgres_database(server_url, "accord_node").await;
    TestDatabase {
        url,
        backend: "postgres",
        _folder: None,
    }
}
