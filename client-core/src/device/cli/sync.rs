//! The `sync` command: decides whether this sync sends every original (the officer's policy on
//! the network of the moment), syncs with the progress bar, then frees the space of photo files
//! the server has confirmed.

use clap::Args;

use super::{progress::progress_bar, render};
use crate::device::{Device, Network, send_all_originals};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Also upload every original photo this time, whatever the network and the saved policy.
    #[arg(long)]
    pub originals: bool,
    /// The network the device is on (wifi, wired, cellular, offline) [default: detected from the
    /// default route]. Phone apps set it, the device knows better than /proc.
    #[arg(long, env = "BUKTI_NETWORK", value_name = "KIND")]
    pub network: Option<Network>,
}

/// Applies the originals policy to `device` before it syncs.
pub(super) async fn prepare(device: &mut Device, args: &SyncArgs) -> anyhow::Result<()> {
    let network = args.network.unwrap_or_else(Network::detect);
    let policy = device.originals_policy().await?;
    device.set_send_originals(send_all_originals(policy, network, args.originals));
    Ok(())
}

pub(super) async fn run(device: &Device, quiet: bool) -> anyhow::Result<()> {
    let bar = progress_bar(quiet);
    let report = device.sync(&bar).await;
    bar.0.finish_and_clear();
    // Also after a failed sync: whatever the server confirmed before the failure is confirmed.
    let freed = device.prune_confirmed_photos().await;
    let report = report?;
    print!("{}", render::report(&report));
    match freed {
        Ok(0) => {}
        Ok(n) => println!("Freed {n} photo file(s) the server holds."),
        Err(e) => eprintln!("warning: could not free photo files the server holds: {e}"),
    }
    Ok(())
}
