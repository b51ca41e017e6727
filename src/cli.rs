//! The command line, flag for flag as PocketBase's (`serve`, `superuser …`, `--version`),
//! so scripts written for PocketBase start Satchel unchanged. Doc comments are `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "satchel", version = concat!("version ", env!("CARGO_PKG_VERSION")))]
#[command(about = "Satchel: a PocketBase-compatible backend with pages, in one binary")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts (PocketBase's global flags).
#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The data directory (holds data.db)
    #[arg(long, global = true, default_value = "./pb_data")]
    pub dir: PathBuf,
    /// Enable dev mode: verbose logs and error details
    #[arg(long, global = true)]
    pub dev: bool,
    /// The directory with the JS app hooks (default: <dir>/../pb_hooks)
    #[arg(long = "hooksDir", global = true)]
    pub hooks_dir: Option<PathBuf>,
    /// The directory with the pages (default: ./pb_pages)
    #[arg(long = "pagesDir", global = true, default_value = "./pb_pages")]
    pub pages_dir: PathBuf,
    /// The directory to serve static files from
    #[arg(long = "publicDir", global = true, default_value = "./pb_public")]
    pub public_dir: PathBuf,
    /// Fall back to index.html on a missing static path (SPA routing)
    #[arg(long = "indexFallback", global = true, default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub index_fallback: bool,
    /// Reload hooks and pages when their files change
    #[arg(long = "hooksWatch", global = true, default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pub hooks_watch: bool,
    /// The number of JS workers (default: 2 per CPU core)
    #[arg(long = "hooksPool", global = true)]
    pub hooks_pool: Option<usize>,
    /// How long one hook call may run, in seconds
    #[arg(long = "hooksTimeout", global = true, default_value_t = 30)]
    pub hooks_timeout: u64,
    /// The default SELECT query timeout in seconds (accepted for compatibility)
    #[arg(long = "queryTimeout", global = true, default_value_t = 30)]
    pub query_timeout: u64,
    /// The env variable holding a 32-char settings encryption key (accepted for compatibility)
    #[arg(long = "encryptionEnv", global = true)]
    pub encryption_env: Option<String>,
    /// The directory with the JS migrations (default: <dir>/../pb_migrations)
    #[arg(long = "migrationsDir", global = true)]
    pub migrations_dir: Option<PathBuf>,
    /// Enable auto migrations (accepted for compatibility)
    #[arg(long, global = true, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub automigrate: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Starts the web server (default to 127.0.0.1:8090)
    Serve(ServeArgs),
    /// Manage superusers
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
    /// Executes app DB migration scripts
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum MigrateAction {
    /// Runs all available migrations
    Up,
    /// Reverts the last [n] applied migrations
    Down {
        #[arg(default_value_t = 1)]
        n: usize,
    },
    /// Creates a new blank migration template file
    Create { name: Option<String> },
    /// Creates a new migration file with a snapshot of the local collections configuration
    Collections,
}

impl GlobalArgs {
    /// `--migrationsDir`, or `pb_migrations` beside the data dir.
    pub fn migrations_dir(&self) -> PathBuf {
        self.migrations_dir
            .clone()
            .unwrap_or_else(|| self.dir.join("..").join("pb_migrations"))
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// TCP address to listen for the HTTP server
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub http: String,
    /// CORS allowed domain origins list
    #[arg(long, value_delimiter = ',', default_value = "*")]
    pub origins: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum SuperuserAction {
    /// Creates, or updates if email exists, a single superuser
    #[command(after_help = "Example: superuser upsert test@example.com 1234567890")]
    Upsert {
        email: Option<String>,
        password: Option<String>,
    },
    /// Creates a new superuser
    #[command(after_help = "Example: superuser create test@example.com 1234567890")]
    Create {
        email: Option<String>,
        password: Option<String>,
    },
    /// Changes the password of a single superuser
    #[command(after_help = "Example: superuser update test@example.com 1234567890")]
    Update {
        email: Option<String>,
        password: Option<String>,
    },
    /// Deletes an existing superuser
    #[command(after_help = "Example: superuser delete test@example.com")]
    Delete { email: Option<String> },
}
