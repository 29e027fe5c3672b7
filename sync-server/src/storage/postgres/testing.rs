//! PostgreSQL for tests: the admin connection string of a cluster to make databases in,
//! from `GRIDWORK_TEST_POSTGRES`, or else the private loopback cluster that
//! `scripts/postgres.sh start` runs (started here if needed). A machine without PostgreSQL
//! fails these tests with a message saying what to install.

use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::OnceLock;

pub struct TestCluster {
    admin_url: String,
}

/// The cluster of this test process (found or started once).
pub fn cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let admin_url = std::env::var("GRIDWORK_TEST_POSTGRES").ok().filter(|u| !u.is_empty()).unwrap_or_else(start_private);
        TestCluster { admin_url }
    })
}

fn start_private() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/postgres.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("start")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "scripts/postgres.sh start failed (is PostgreSQL installed? scripts/setup.sh installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 url").trim().to_owned()
}

impl TestCluster {
    /// The admin connection string (database `postgres`).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// The connection string of the database named after `key`, created empty the first
    /// time (the same key reopens the same data). Databases of earlier test processes are
    /// dropped on the first call of a process.
    pub async fn database_for(&self, key: &Path) -> String {
        let name = format!("t_{}_{}", std::process::id(), &hex::encode(Sha256::digest(key.to_string_lossy().as_bytes()))[..16]);
        self.create_database(&name).await;
        self.url_of(&name)
    }

    /// A fresh, empty database with a unique name; its connection string.
    pub async fn fresh_database(&self) -> String {
        let name = format!("t_{}_{}", std::process::id(), hex::encode(rand::random::<[u8; 8]>()));
        self.create_database(&name).await;
        self.url_of(&name)
    }

    fn url_of(&self, db: &str) -> String {
        let mut config: tokio_postgres::Config = self.admin_url.parse().expect("admin url");
        config.dbname(db);
        // tokio_postgres::Config has no Display: rebuild the key=value form.
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres");
        let password = config.get_password().map(|p| format!(":{}", String::from_utf8_lossy(p))).unwrap_or_default();
        format!("postgres://{user}{password}@{host}:{port}/{db}")
    }

    async fn create_database(&self, name: &str) {
        let (client, connection) =
            tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls).await.expect("connect to the test cluster");
        tokio::spawn(connection);
        static SWEPT: OnceLock<()> = OnceLock::new();
        if SWEPT.set(()).is_ok() {
            sweep(&client).await;
        }
        let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await.expect("pg_database");
        if exists.is_none() {
            match client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await {
                Ok(()) => {}
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => {}
                Err(e) => panic!("CREATE DATABASE {name}: {e}"),
            }
        }
    }
}

/// Drop the databases left by test processes that are gone.
async fn sweep(client: &tokio_postgres::Client) {
    let rows = client.query("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'", &[]).await.expect("list databases");
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| p == std::process::id() || Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}
