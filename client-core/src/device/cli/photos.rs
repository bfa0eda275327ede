//! The `photos` command: the originals' retention setting, pruning, and what waits to upload.

use super::render;
use crate::device::Device;

pub(super) async fn run(
    device: &Device,
    retention_days: Option<u32>,
    prune: bool,
) -> anyhow::Result<()> {
    if let Some(days) = retention_days {
        device.set_photo_retention_days(days).await?;
    }
    if prune {
        println!("Removed {} photo file(s).", device.prune_photos().await?);
    }
    let status = device.photo_status().await?;
    println!(
        "Originals are kept {} day(s); {} kept ({}); {} photo file(s) ({}) wait to upload.",
        device.photo_retention_days().await?,
        status.originals_kept,
        render::bytes(status.original_bytes_kept),
        status.renditions_waiting + status.originals_requested,
        render::bytes(status.rendition_bytes_waiting + status.original_bytes_requested),
    );
    Ok(())
}
