//! Credentials' storage: enrollment codes and their redemption into a device's credential, the
//! devices of a unit and their revocation, and web sessions. Like [`super::directory`], the SQL
//! is written once for both databases; [`impl_credentials!`] instantiates it.

use async_trait::async_trait;
use bukti_core::unit::UnitPath;
use uuid::Uuid;

use super::{
    StoreError,
    directory::{PERSON_COLUMNS, person_row, subtree, uuid},
    rows::StoreRow,
};
use crate::directory::{CodeRefusal, DeviceInfo, NewEnrollment, Person};

/// What an enrolling device brings besides the code.
#[derive(Debug, Clone)]
pub struct EnrollingDevice {
    pub id: Uuid,
    pub name: String,
    pub actor_id: String,
    pub public_key: Vec<u8>,
    pub token_hash: Vec<u8>,
}

/// The enrolled device's officer and scope, when the code was good.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub person: Person,
    pub own_records_only: bool,
}

#[async_trait]
pub trait Credentials {
    async fn insert_enrollment(&self, e: &NewEnrollment) -> Result<(), StoreError>;
    /// Spends a code and creates the device's credential in one transaction, so a code enrolls
    /// exactly one device even when two race for it.
    async fn redeem_enrollment(
        &self,
        code_hash: &[u8],
        now: i64,
        device: &EnrollingDevice,
    ) -> Result<Result<Enrolled, CodeRefusal>, StoreError>;

    async fn devices(&self, scope: &UnitPath) -> Result<Vec<DeviceInfo>, StoreError>;
    async fn device(&self, id: Uuid) -> Result<Option<DeviceInfo>, StoreError>;
    /// Revokes a device in `scope`; `false` when there is no such device there.
    async fn revoke_device(
        &self,
        id: Uuid,
        scope: &UnitPath,
        by: &str,
        now: i64,
    ) -> Result<bool, StoreError>;

    async fn insert_session(
        &self,
        token_hash: &[u8],
        person: Uuid,
        csrf: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// The live session's person and CSRF token.
    async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<(Person, String)>, StoreError>;
    async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError>;
}

fn device_row(r: &impl StoreRow) -> Result<DeviceInfo, StoreError> {
    Ok(DeviceInfo {
        id: uuid(&r.text("principal_id")?)?,
        name: r.text("name")?,
        unit: r.text("unit")?,
        officer: r.opt_text("officer")?,
        created_at: r.int("created_at")?,
        revoked_at: r.opt_int("revoked_at")?,
        revoked_by: r.opt_text("revoked_by")?,
    })
}

/// Implements [`Credentials`] for a store whose reads go to `$read` and writes to `$write`.
macro_rules! impl_credentials {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl Credentials for $store {
            async fn insert_enrollment(&self, e: &NewEnrollment) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into enrollment (enrollment_id, code_hash, person_id, \
                     own_records_only, issued_by, created_at, expires_at) \
                     values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.id.to_string())
                .bind(&e.code_hash)
                .bind(e.person.to_string())
                .bind(i64::from(e.own_records_only))
                .bind(&e.issued_by)
                .bind(jiff::Timestamp::now().as_millisecond())
                .bind(e.expires_at)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn redeem_enrollment(
                &self,
                code_hash: &[u8],
                now: i64,
                device: &EnrollingDevice,
            ) -> Result<Result<Enrolled, CodeRefusal>, StoreError> {
                let mut tx = self.$write.begin().await?;
                // The conditional update is the lock: of two racing devices only one sees a row.
                let spent = sqlx::query(
                    "update enrollment set used_at = $1, device_id = $2 \
                     where code_hash = $3 and used_at is null and expires_at > $1 \
                     returning person_id, own_records_only",
                )
                .bind(now)
                .bind(device.id.to_string())
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(spent) = spent else {
                    let used: Option<Option<i64>> =
                        sqlx::query_scalar("select used_at from enrollment where code_hash = $1")
                            .bind(code_hash)
                            .fetch_optional(&mut *tx)
                            .await?;
                    return Ok(Err(match used {
                        None => CodeRefusal::Unknown,
                        Some(Some(_)) => CodeRefusal::Used,
                        Some(None) => CodeRefusal::Expired,
                    }));
                };
                let person_id = spent.text("person_id")?;
                let own_records_only = spent.int("own_records_only")? != 0;
                let sql = format!("select {PERSON_COLUMNS} from person where person_id = $1");
                let person = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&person_id)
                    .fetch_one(&mut *tx)
                    .await?;
                let person = person_row(&person)?;
                sqlx::query(
                    "insert into principal (principal_id, kind, role, name, unit, officer, \
                     actor_id, token_hash, created_at, person_id, public_key, own_records_only) \
                     values ($1, 'device', 'officer', $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(device.id.to_string())
                .bind(&device.name)
                .bind(person.unit.as_str())
                .bind(&person.nrp)
                .bind(&device.actor_id)
                .bind(&device.token_hash)
                .bind(now)
                .bind(&person_id)
                .bind(&device.public_key)
                .bind(i64::from(own_records_only))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(Ok(Enrolled {
                    person,
                    own_records_only,
                }))
            }

            async fn devices(&self, scope: &UnitPath) -> Result<Vec<DeviceInfo>, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let sql = format!(
                    "select principal_id, name, unit, officer, created_at, revoked_at, revoked_by \
                     from principal where kind = 'device' and {} order by unit, created_at",
                    subtree("unit", 1)
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(scope.as_str())
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter().map(device_row).collect()
            }

            async fn device(&self, id: Uuid) -> Result<Option<DeviceInfo>, StoreError> {
                let row = sqlx::query(
                    "select principal_id, name, unit, officer, created_at, revoked_at, revoked_by \
                     from principal where kind = 'device' and principal_id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(&self.$read)
                .await?;
                row.map(|r| device_row(&r)).transpose()
            }

            async fn revoke_device(
                &self,
                id: Uuid,
                scope: &UnitPath,
                by: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let sql = format!(
                    "update principal set revoked_at = coalesce(revoked_at, $4), \
                     revoked_by = coalesce(revoked_by, $5) \
                     where principal_id = $6 and kind = 'device' and {}",
                    subtree("unit", 1)
                );
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(scope.as_str())
                    .bind(lo)
                    .bind(hi)
                    .bind(now)
                    .bind(by)
                    .bind(id.to_string())
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_session(
                &self,
                token_hash: &[u8],
                person: Uuid,
                csrf: &str,
                now: i64,
                expires_at: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into web_session (token_hash, person_id, csrf_token, created_at, \
                     expires_at) values ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(person.to_string())
                .bind(csrf)
                .bind(now)
                .bind(expires_at)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                token_hash: &[u8],
                now: i64,
            ) -> Result<Option<(Person, String)>, StoreError> {
                let sql = format!(
                    "select {}, w.csrf_token from web_session w \
                     join person p on p.person_id = w.person_id \
                     where w.token_hash = $1 and w.expires_at > $2",
                    PERSON_COLUMNS
                        .split(", ")
                        .map(|c| format!("p.{}", c.trim()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .bind(now)
                    .fetch_optional(&self.$read)
                    .await?;
                row.map(|r| Ok((person_row(&r)?, r.text("csrf_token")?)))
                    .transpose()
            }

            async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
                sqlx::query("delete from web_session where token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.$write)
                    .await?;
                Ok(())
            }
        }
    };
}

impl_credentials!(super::sqlite::SqliteStore, reader, writer);
impl_credentials!(super::postgres::PgStore, pool, pool);
