//! The export page's words ([`crate::web::packs`]), kept apart from the rest of the console's so
//! neither list grows past reading; reached from any page's texts as `t.packs`.

/// Every text of the evidence-pack pages.
#[derive(Debug)]
pub struct PackTexts {
    pub nav: &'static str,
    pub heading: &'static str,
    pub intro: &'static str,
    pub new_pack: &'static str,
    pub days_in: &'static str,
    pub areas: &'static str,
    pub areas_hint: &'static str,
    pub start: &'static str,
    pub yours: &'static str,
    pub none: &'static str,
    pub kept_for: &'static str,
    pub hours: &'static str,
    pub lost_on_restart: &'static str,
    pub started: &'static str,
    pub state: &'static str,
    pub running: &'static str,
    pub done: &'static str,
    pub failed: &'static str,
    pub read: &'static str,
    pub packed: &'static str,
    pub bytes: &'static str,
    pub photos: &'static str,
    pub photos_missing: &'static str,
    pub zip_size: &'static str,
    pub expires: &'static str,
    pub download: &'static str,
    pub refreshing: &'static str,
    pub refresh_now: &'static str,
    pub verify_hint: &'static str,
    pub server_key: &'static str,
    pub whole_period: &'static str,
    pub all_areas: &'static str,
    pub back: &'static str,
}

impl PackTexts {
    /// The label of a job state as the API names it.
    pub fn state_label(&self, state: &str) -> &'static str {
        match state {
            "done" => self.done,
            "failed" => self.failed,
            _ => self.running,
        }
    }
}

pub static ID: PackTexts = PackTexts {
    nav: "Paket bukti",
    heading: "Ekspor paket bukti",
    intro: "Paket bukti adalah berkas zip berisi catatan satuan yang dipilih beserta fotonya, \
        halaman cetak, tanda tangan perangkat, tanda terima, dan manifest yang ditandatangani \
        server, tersusun menurut LKE. Siapa pun dapat memeriksanya tanpa jaringan.",
    new_pack: "Paket baru",
    days_in: "Tanggal menurut zona waktu satuan",
    areas: "Area LKE",
    areas_hint: "Tanpa pilihan: semua area, termasuk catatan tanpa tag.",
    start: "Mulai ekspor",
    yours: "Paket Anda",
    none: "Belum ada paket.",
    kept_for: "Paket yang selesai disimpan selama",
    hours: "jam, lalu dihapus.",
    lost_on_restart: "Daftar ini hilang bila server dimulai ulang; paket yang sedang dibuat saat \
        itu tidak selesai — mulai lagi dari halaman ini.",
    started: "Dimulai",
    state: "Keadaan",
    running: "Sedang dibuat",
    done: "Selesai",
    failed: "Gagal",
    read: "Catatan dibaca",
    packed: "Catatan dalam paket",
    bytes: "Byte ditulis",
    photos: "Foto",
    photos_missing: "Foto yang belum diunggah perangkat",
    zip_size: "Ukuran zip",
    expires: "Dihapus pada",
    download: "Unduh paket",
    refreshing: "Halaman ini memuat ulang sendiri setiap 2 detik sampai paket selesai.",
    refresh_now: "Muat ulang sekarang",
    verify_hint: "Periksa paket tanpa jaringan dengan:",
    server_key: "Kunci server",
    whole_period: "semua tanggal",
    all_areas: "semua area",
    back: "Kembali ke paket bukti",
};

pub static EN: PackTexts = PackTexts {
    nav: "Evidence packs",
    heading: "Export an evidence pack",
    intro: "An evidence pack is a zip of the chosen unit's records with their photos, printable \
        pages, device signatures, receipts and a manifest signed by the server, laid out like \
        the LKE. Anyone can check it with no network.",
    new_pack: "New pack",
    days_in: "Days in the unit's time zone",
    areas: "LKE areas",
    areas_hint: "None chosen: every area, and records without tags.",
    start: "Start the export",
    yours: "Your packs",
    none: "No packs yet.",
    kept_for: "Finished packs are kept for",
    hours: "hours, then deleted.",
    lost_on_restart: "This list is lost when the server restarts; a pack being made then does \
        not finish — start it again from this page.",
    started: "Started",
    state: "State",
    running: "Being made",
    done: "Finished",
    failed: "Failed",
    read: "Records read",
    packed: "Records in the pack",
    bytes: "Bytes written",
    photos: "Photos",
    photos_missing: "Photos the devices have not uploaded",
    zip_size: "Zip size",
    expires: "Deleted at",
    download: "Download the pack",
    refreshing: "This page reloads itself every 2 seconds until the pack is finished.",
    refresh_now: "Reload now",
    verify_hint: "Check the pack with no network using:",
    server_key: "Server key",
    whole_period: "every day",
    all_areas: "every area",
    back: "Back to evidence packs",
};
