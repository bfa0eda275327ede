use super::*;

#[test]
fn access_dates() {
    assert_eq!(parse_until("2026-12-31").ok(), Some(1_798_675_200_000));
    assert_eq!(
        parse_until("2026-12-31T00:00:00Z").ok(),
        Some(1_798_675_200_000)
    );
    assert!(parse_until("31/12/2026").is_err());
}
