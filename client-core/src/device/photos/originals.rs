//! When the device uploads every original photo rather than only those HQ asks for. Originals
//! are the big files (megabytes each) and mobile data is paid per byte on a weak signal, so the
//! officer chooses once and the choice is applied on every sync to the network of the moment.

use std::{fmt, str::FromStr};

use super::network::Network;
use crate::device::{Device, DeviceError, store::key};

/// The saved choice (meta `photo_originals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OriginalsPolicy {
    /// Only originals HQ asked for (a dispute, a field evaluation); the default.
    #[default]
    Requested,
    /// Every original whenever the device is on Wi-Fi (or a wired network).
    Wifi,
    /// Every original on any network.
    Always,
}

impl OriginalsPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginalsPolicy::Requested => "requested",
            OriginalsPolicy::Wifi => "wifi",
            OriginalsPolicy::Always => "always",
        }
    }
}

impl fmt::Display for OriginalsPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an originals policy: use requested, wifi or always")]
pub struct UnknownPolicy(String);

impl FromStr for OriginalsPolicy {
    type Err = UnknownPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "requested" => Ok(OriginalsPolicy::Requested),
            "wifi" | "wi-fi" => Ok(OriginalsPolicy::Wifi),
            "always" => Ok(OriginalsPolicy::Always),
            _ => Err(UnknownPolicy(s.to_owned())),
        }
    }
}

/// Whether this sync uploads every original: the officer asked for it this once (`bukti sync
/// --originals`), or the saved policy allows it on `network`. Requested originals go regardless.
pub fn send_all_originals(policy: OriginalsPolicy, network: Network, asked_now: bool) -> bool {
    asked_now
        || match policy {
            OriginalsPolicy::Requested => false,
            OriginalsPolicy::Wifi => network.is_unmetered(),
            OriginalsPolicy::Always => network != Network::Offline,
        }
}

impl Device {
    /// The saved originals policy; an unreadable value counts as the default.
    pub async fn originals_policy(&self) -> Result<OriginalsPolicy, DeviceError> {
        Ok(self
            .store
            .meta(key::PHOTO_ORIGINALS)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or_default())
    }

    pub async fn set_originals_policy(&self, policy: OriginalsPolicy) -> Result<(), DeviceError> {
        let mut tx = self.store.begin().await?;
        tx.set_meta(key::PHOTO_ORIGINALS, policy.as_str()).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_policy_sends_originals_only_on_unmetered_networks() {
        let p = OriginalsPolicy::Wifi;
        assert!(send_all_originals(p, Network::Wifi, false));
        assert!(send_all_originals(p, Network::Wired, false));
        assert!(!send_all_originals(p, Network::Cellular, false));
        assert!(!send_all_originals(p, Network::Offline, false));
    }

    #[test]
    fn the_default_waits_for_hq_unless_the_officer_asks_now() {
        let p = OriginalsPolicy::default();
        assert!(!send_all_originals(p, Network::Wifi, false));
        assert!(send_all_originals(p, Network::Cellular, true));
    }

    #[test]
    fn always_means_any_network() {
        let p = OriginalsPolicy::Always;
        assert!(send_all_originals(p, Network::Cellular, false));
        assert!(!send_all_originals(p, Network::Offline, false));
    }

    #[test]
    fn policies_round_trip_through_their_names() {
        for p in [
            OriginalsPolicy::Requested,
            OriginalsPolicy::Wifi,
            OriginalsPolicy::Always,
        ] {
            assert_eq!(p.as_str().parse::<OriginalsPolicy>().ok(), Some(p));
        }
        assert!("sometimes".parse::<OriginalsPolicy>().is_err());
    }
}
