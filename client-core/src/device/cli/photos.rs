//! The `photos` command: the originals' retention and upload policy, pruning, and what waits to
//! upload.

use clap::Args;

use super::render;
use crate::device::{Device, OriginalsPolicy};

#[derive(Debug, Args)]
pub struct PhotosArgs {
    /// Keep originals this many days after capture (saved for later runs).
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,
    /// When every original uploads, not only those HQ asks for: requested (default), wifi
    /// (on Wi-Fi or a wired network) or always (saved for later runs).
    #[arg(long, value_name = "POLICY")]
    pub send_originals: Option<OriginalsPolicy>,
    /// Delete originals past retention, derivatives the server has, and leftovers.
    #[arg(long)]
    pub prune: bool,
}

pub(super) async fn run(device: &Device, args: PhotosArgs) -> anyhow::Result<()> {
    if let Some(days) = args.retention_days {
        device.set_photo_retention_days(days).await?;
    }
    if let Some(policy) = args.send_originals {
        device.set_originals_policy(policy).await?;
    }
    if args.prune {
        println!("Removed {} photo file(s).", device.prune_photos().await?);
    }
    let status = device.photo_status().await?;
    println!(
        "Originals are kept {} day(s) and uploaded {}; {} kept ({}); {} photo file(s) ({}) wait to upload.",
        device.photo_retention_days().await?,
        match device.originals_policy().await? {
            OriginalsPolicy::Requested => "when HQ asks",
            OriginalsPolicy::Wifi => "on Wi-Fi",
            OriginalsPolicy::Always => "on any network",
        },
        status.originals_kept,
        render::bytes(status.original_bytes_kept),
        status.renditions_waiting + status.originals_requested,
        render::bytes(status.rendition_bytes_waiting + status.original_bytes_requested),
    );
    Ok(())
}
