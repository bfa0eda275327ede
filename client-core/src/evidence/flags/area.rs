//! A unit's area of responsibility (wilayah hukum), for the "outside the unit's area" flag.
//!
//! An area is a GeoJSON `Polygon` or `MultiPolygon` geometry (longitude first, as GeoJSON has it),
//! stored as given so it round-trips to map tools. Parsing is bounded: at most [`MAX_POINTS`]
//! points in all, so a hostile or careless file cannot make every ingest slow.

use serde::Deserialize;

/// Most points an area may have in all; a Polsek boundary traced from a map has a few hundred.
pub const MAX_POINTS: usize = 20_000;

/// Why an area was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AreaError {
    #[error("the area is not a GeoJSON Polygon or MultiPolygon geometry: {0}")]
    NotGeoJson(String),
    #[error("a ring of the area has {0} points; a ring needs at least 4 (the first repeated last)")]
    ShortRing(usize),
    #[error("the area has more than {MAX_POINTS} points; simplify the boundary")]
    TooManyPoints,
    #[error("a point of the area is not a longitude and latitude in degrees: [{0}, {1}]")]
    BadPoint(f64, f64),
    #[error(
        "a bounding box is south,west,north,east in degrees with south < north and west < east"
    )]
    BadBox,
}

/// A polygon: its outer ring, then any holes; each ring a list of `[lon, lat]`.
type Polygon = Vec<Vec<[f64; 2]>>;

/// A unit's area: one or more polygons.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    polygons: Vec<Polygon>,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Geometry {
    Polygon { coordinates: Polygon },
    MultiPolygon { coordinates: Vec<Polygon> },
}

impl Area {
    /// Parses a GeoJSON geometry, or a `Feature` wrapping one.
    pub fn from_geojson(text: &str) -> Result<Self, AreaError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| AreaError::NotGeoJson(e.to_string()))?;
        let geometry = match value.get("type").and_then(|t| t.as_str()) {
            Some("Feature") => value.get("geometry").cloned().unwrap_or_default(),
            _ => value,
        };
        let polygons = match serde_json::from_value(geometry)
            .map_err(|e| AreaError::NotGeoJson(e.to_string()))?
        {
            Geometry::Polygon { coordinates } => vec![coordinates],
            Geometry::MultiPolygon { coordinates } => coordinates,
        };
        Self::new(polygons)
    }

    /// A rectangle, from `south,west,north,east` in degrees.
    pub fn from_box(text: &str) -> Result<Self, AreaError> {
        let v: Vec<f64> = text
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| AreaError::BadBox)?;
        let [s, w, n, e] = v[..] else {
            return Err(AreaError::BadBox);
        };
        if !(s < n && w < e) {
            return Err(AreaError::BadBox);
        }
        Self::new(vec![vec![vec![[w, s], [e, s], [e, n], [w, n], [w, s]]]])
    }

    fn new(polygons: Vec<Polygon>) -> Result<Self, AreaError> {
        let mut points = 0;
        for ring in polygons.iter().flatten() {
            if ring.len() < 4 {
                return Err(AreaError::ShortRing(ring.len()));
            }
            points += ring.len();
            if points > MAX_POINTS {
                return Err(AreaError::TooManyPoints);
            }
            for &[lon, lat] in ring {
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(AreaError::BadPoint(lon, lat));
                }
            }
        }
        if polygons.is_empty() {
            return Err(AreaError::NotGeoJson("it has no polygon".into()));
        }
        Ok(Self { polygons })
    }

    /// The area as a GeoJSON geometry, as it is stored.
    pub fn to_geojson(&self) -> String {
        serde_json::json!({ "type": "MultiPolygon", "coordinates": self.polygons }).to_string()
    }

    /// Whether the point lies inside: inside some polygon's outer ring and none of its holes.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.polygons.iter().any(|polygon| {
            let mut rings = polygon.iter();
            rings.next().is_some_and(|outer| in_ring(outer, lat, lon))
                && !rings.any(|hole| in_ring(hole, lat, lon))
        })
    }
}

/// Ray casting. Units are small enough (tens of kilometres) that treating degrees as a plane
/// misplaces nothing near a boundary that GPS accuracy would not anyway.
fn in_ring(ring: &[[f64; 2]], lat: f64, lon: f64) -> bool {
    let mut inside = false;
    for pair in ring.windows(2) {
        let ([x1, y1], [x2, y2]) = (pair[0], pair[1]);
        if (y1 > lat) != (y2 > lat) && lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1 {
            inside = !inside;
        }
    }
    inside
}

/// Great-circle distance in metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_000.0;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}
