//! The record commands' arguments and the edit command: `capture` and `edit` share the field
//! flags (in `fields`) and the photo flags here.

use std::path::PathBuf;

use clap::Args;

use super::fields::FieldArgs;
use crate::{
    RecordId,
    device::{Device, PhotoInput},
};

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Activity kind code (see `bukti kinds`).
    #[arg(long)]
    pub kind: String,
    /// Short title, e.g. "Sambang Desa Sudaji".
    #[arg(long)]
    pub title: String,
    #[command(flatten)]
    pub fields: FieldArgs,
    #[command(flatten)]
    pub photos: PhotoArgs,
}

/// Photos to attach to a record.
#[derive(Debug, Args)]
pub struct PhotoArgs {
    /// Attach a photo (JPEG or PNG); repeat for more.
    #[arg(long, value_name = "FILE")]
    pub photo: Vec<PathBuf>,
    /// The photos were imported from the gallery, not taken in the app (weaker evidence).
    #[arg(long)]
    pub gallery: bool,
}

impl PhotoArgs {
    pub(super) fn inputs(&self) -> Vec<PhotoInput> {
        self.photo
            .iter()
            .map(|p| {
                if self.gallery {
                    PhotoInput::gallery(p)
                } else {
                    PhotoInput::camera(p)
                }
            })
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The record's id (from `bukti list`).
    pub id: RecordId,
    /// New activity kind code.
    #[arg(long)]
    pub kind: Option<String>,
    /// New title.
    #[arg(long)]
    pub title: Option<String>,
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Remove a service type's count; repeat for more.
    #[arg(long, value_name = "TYPE")]
    pub remove_service: Vec<String>,
    /// Remove an LKE code; repeat for more.
    #[arg(long, value_name = "CODE")]
    pub remove_lke: Vec<String>,
    #[command(flatten)]
    pub photos: PhotoArgs,
}

pub(super) async fn edit(device: &Device, args: EditArgs) -> anyhow::Result<()> {
    let mut failed = None;
    let photos = args.photos.inputs();
    let changed = device
        .edit_with_photos(args.id, photos, |r| {
            // `apply` fails before touching the record, so a failed edit changes nothing.
            if let Err(e) = args.fields.apply(r) {
                failed = Some(e);
                return;
            }
            if let Some(kind) = &args.kind {
                r.kind.clone_from(kind);
            }
            if let Some(title) = &args.title {
                r.title.clone_from(title);
            }
            for code in &args.remove_service {
                r.counts.services.remove(code);
            }
            for code in &args.remove_lke {
                r.lke.remove(code);
            }
        })
        .await?;
    if let Some(e) = failed {
        return Err(e);
    }
    if changed {
        println!("Saved; the change goes to the server on the next `bukti sync`.");
    } else {
        println!("Nothing changed.");
    }
    Ok(())
}
