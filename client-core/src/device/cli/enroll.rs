//! The `enroll` command: redeeming a one-time enrollment code so this device captures and syncs
//! for the officer the code was issued to.

use clap::Args;

use crate::{device::Device, enrollment};

#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Server address, e.g. https://bukti.polres-buleleng.id (not needed with --qr when the QR
    /// code carries it).
    #[arg(long)]
    pub server: Option<String>,
    /// The enrollment code from your Kapolsek or administrator, e.g. 7K3Q-9XMD-2PVA.
    #[arg(long, required_unless_present = "qr", conflicts_with = "qr")]
    pub code: Option<String>,
    /// The text of a scanned enrollment QR code (bukti:enroll?server=…&code=…).
    #[arg(long)]
    pub qr: Option<String>,
    /// A name HQ will recognise the device by [default: the host name].
    #[arg(long)]
    pub device_name: Option<String>,
    /// Replace an existing enrollment; every record is sent again on the next sync.
    #[arg(long)]
    pub force: bool,
}

pub(super) async fn run(device: &Device, args: EnrollArgs) -> anyhow::Result<()> {
    let (server, code) = match (&args.qr, args.code) {
        (Some(qr), _) => {
            let (server, code) = enrollment::parse_uri(qr)?;
            (args.server.or(server), code)
        }
        (None, Some(code)) => (args.server, code),
        (None, None) => anyhow::bail!("give --code or --qr"),
    };
    let server = server.ok_or_else(|| {
        anyhow::anyhow!("give --server: the code alone does not say which server")
    })?;
    let name = args.device_name.unwrap_or_else(host_name);
    let reg = if args.force {
        device.enroll_again(&server, &code, &name).await?
    } else {
        device.enroll(&server, &code, &name).await?
    };
    println!(
        "Enrolled device {} ({}) for officer {} in {} with {}.",
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
