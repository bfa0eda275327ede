//! The `register` command: enrolling this device with a server under an officer and a unit.

use clap::Args;

use crate::device::Device;

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Server address, e.g. http://10.20.0.5:8080.
    #[arg(long)]
    pub server: String,
    /// HQ token authorising the registration (from `bukti-server token create`).
    #[arg(long, env = "BUKTI_HQ_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The officer's NRP (8 digits).
    #[arg(long)]
    pub officer: String,
    /// The officer's unit path, e.g. bali/buleleng/sawan.
    #[arg(long)]
    pub unit: String,
    /// A name HQ will recognise the device by [default: the host name].
    #[arg(long)]
    pub device_name: Option<String>,
    /// Replace an existing registration; every record is sent again on the next sync.
    #[arg(long)]
    pub force: bool,
}

pub(super) async fn run(device: &Device, args: RegisterArgs) -> anyhow::Result<()> {
    let name = args.device_name.unwrap_or_else(host_name);
    let reg = if args.force {
        device
            .register_again(&args.server, &args.token, &args.officer, &args.unit, &name)
            .await?
    } else {
        device
            .register(&args.server, &args.token, &args.officer, &args.unit, &name)
            .await?
    };
    println!(
        "Registered device {} ({}) for officer {} in {} with {}.",
        reg.device_id, reg.device_name, reg.officer, reg.unit, reg.server_url
    );
    Ok(())
}

/// The name HQ sees when the officer gives none: the host's own name.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bukti device".to_owned())
}
