//! Which kind of network the device is on, so originals (the big files) can wait for Wi-Fi.
//!
//! On Linux the interface carrying the default route is read from `/proc/net/route`; it is
//! Wi-Fi when `/sys/class/net/<iface>/wireless` exists, cellular when its name is one modems and
//! tethering use. Phones (whose shell knows better) and tests say it with `BUKTI_NETWORK`.

use std::{fmt, path::Path, str::FromStr};

/// The network the default route goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Wifi,
    /// Ethernet at the station: as unmetered as Wi-Fi.
    Wired,
    /// Mobile data, paid per byte on a weak signal.
    Cellular,
    /// No default route at all.
    Offline,
}

impl Network {
    pub fn as_str(self) -> &'static str {
        match self {
            Network::Wifi => "wifi",
            Network::Wired => "wired",
            Network::Cellular => "cellular",
            Network::Offline => "offline",
        }
    }

    /// Whether big uploads cost the officer nothing.
    pub fn is_unmetered(self) -> bool {
        matches!(self, Network::Wifi | Network::Wired)
    }

    /// The network of this Linux machine's default route; offline when there is none (or the
    /// route table cannot be read, as on a system without `/proc`).
    pub fn detect() -> Network {
        let Ok(routes) = std::fs::read_to_string("/proc/net/route") else {
            return Network::Offline;
        };
        match default_route_interface(&routes) {
            Some(iface) => {
                let wireless = Path::new("/sys/class/net")
                    .join(&iface)
                    .join("wireless")
                    .exists();
                classify(&iface, wireless)
            }
            None => Network::Offline,
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a network kind: use wifi, wired, cellular or offline")]
pub struct UnknownNetwork(String);

impl FromStr for Network {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wifi" | "wi-fi" | "wlan" => Ok(Network::Wifi),
            "wired" | "ethernet" => Ok(Network::Wired),
            "cellular" | "mobile" => Ok(Network::Cellular),
            "offline" | "none" => Ok(Network::Offline),
            _ => Err(UnknownNetwork(s.to_owned())),
        }
    }
}

/// Interface name prefixes of modems and phone tethering (Android's `rmnet`/`ccmni`, Linux's
/// `wwan`, PPP dial-up, USB tethering).
const CELLULAR_PREFIXES: [&str; 5] = ["wwan", "rmnet", "ccmni", "ppp", "usb"];

/// The kind of network behind `iface`, given whether the kernel calls it wireless.
pub fn classify(iface: &str, wireless: bool) -> Network {
    if wireless {
        Network::Wifi
    } else if CELLULAR_PREFIXES.iter().any(|p| iface.starts_with(p)) {
        Network::Cellular
    } else {
        Network::Wired
    }
}

/// The interface of the default route in the text of `/proc/net/route`: destination and mask
/// 0.0.0.0, route up, the lowest metric winning as it does in the kernel.
pub fn default_route_interface(routes: &str) -> Option<String> {
    const RTF_UP: u32 = 0x1;
    routes
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, flags, metric, mask) = (
                cols.first()?,
                cols.get(1)?,
                cols.get(3)?,
                cols.get(6)?,
                cols.get(7)?,
            );
            let flags = u32::from_str_radix(flags, 16).ok()?;
            let default = *dest == "00000000" && *mask == "00000000" && flags & RTF_UP != 0;
            default.then(|| {
                (
                    metric.parse::<u32>().unwrap_or(u32::MAX),
                    (*iface).to_owned(),
                )
            })
        })
        .min()
        .map(|(_, iface)| iface)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAPTOP_ON_WIFI_AND_LTE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wwan0\t00000000\t0102A8C0\t0003\t0\t0\t700\t00000000\t0\t0\t0
wlp2s0\t00000000\t0100A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
wlp2s0\t0000A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
";

    #[test]
    fn the_default_route_with_the_lowest_metric_wins() {
        assert_eq!(
            default_route_interface(LAPTOP_ON_WIFI_AND_LTE).as_deref(),
            Some("wlp2s0")
        );
    }

    #[test]
    fn local_and_down_routes_are_not_the_default() {
        let only_local = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
eth0\t00000000\t0100A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0
";
        assert_eq!(default_route_interface(only_local), None);
        assert_eq!(default_route_interface(""), None);
        assert_eq!(default_route_interface("garbage\nnot a route\n"), None);
    }

    #[test]
    fn interfaces_are_classified_by_the_kernel_then_by_name() {
        assert_eq!(classify("wlp2s0", true), Network::Wifi);
        assert_eq!(classify("wwan0", false), Network::Cellular);
        assert_eq!(classify("rmnet_data0", false), Network::Cellular);
        assert_eq!(classify("eth0", false), Network::Wired);
        assert_eq!(classify("enp3s0", false), Network::Wired);
    }

    #[test]
    fn the_override_parses() {
        assert_eq!("WiFi".parse::<Network>().ok(), Some(Network::Wifi));
        assert_eq!("cellular".parse::<Network>().ok(), Some(Network::Cellular));
        assert!("5g".parse::<Network>().is_err());
    }
}
