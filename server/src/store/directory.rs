//! The directory's storage: units, people and principals (who holds a token); enrollment
//! codes, devices and web sessions are in [`super::credentials`]. The SQL is written once: both databases take `$n` placeholders and the same
//! types, and [`impl_directory!`] instantiates it for SQLite (its single writer for writes) and
//! PostgreSQL.

use async_trait::async_trait;
use bukti_core::unit::UnitPath;
use uuid::Uuid;

use super::{StoreError, rows::StoreRow};
use crate::directory::{NewPrincipal, Person, Principal, Roles, Unit, UnitKind};

#[async_trait]
pub trait Directory {
    async fn insert_principal(&self, principal: &NewPrincipal) -> Result<(), StoreError>;

    /// The principal holding a token with this SHA-256, revoked or not.
    async fn principal_by_token_hash(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError>;

    /// Adds a unit; `false` when the path is taken.
    async fn insert_unit(&self, unit: &Unit) -> Result<bool, StoreError>;
    async fn unit(&self, path: &UnitPath) -> Result<Option<Unit>, StoreError>;
    /// `scope` and every unit below it, in path order.
    async fn units(&self, scope: &UnitPath) -> Result<Vec<Unit>, StoreError>;
    async fn rename_unit(&self, path: &UnitPath, name: &str) -> Result<bool, StoreError>;
    /// Moves `from` and its subtree to `to`. People and credentials follow their unit; records
    /// keep the path they were captured in.
    async fn move_unit(&self, from: &UnitPath, to: &UnitPath) -> Result<(), StoreError>;

    /// Adds a person; `false` when the NRP is taken.
    async fn insert_person(&self, person: &Person) -> Result<bool, StoreError>;
    async fn person_by_nrp(&self, nrp: &str) -> Result<Option<Person>, StoreError>;
    async fn people(&self, scope: &UnitPath) -> Result<Vec<Person>, StoreError>;
    async fn set_password(&self, person: Uuid, hash: &str) -> Result<bool, StoreError>;
}

pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn unit_path(raw: &str) -> Result<UnitPath, StoreError> {
    UnitPath::parse(raw).map_err(|_| corrupt("unit path", raw))
}

pub(super) fn uuid(raw: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(raw).map_err(|_| corrupt("id", raw))
}

fn unit_row(r: &impl StoreRow) -> Result<Unit, StoreError> {
    let kind = r.text("kind")?;
    Ok(Unit {
        path: unit_path(&r.text("path")?)?,
        name: r.text("name")?,
        kind: UnitKind::parse(&kind).ok_or_else(|| corrupt("unit kind", &kind))?,
        parent: r
            .opt_text("parent")?
            .as_deref()
            .map(unit_path)
            .transpose()?,
    })
}

pub(super) fn person_row(r: &impl StoreRow) -> Result<Person, StoreError> {
    let roles = r.text("roles")?;
    Ok(Person {
        id: uuid(&r.text("person_id")?)?,
        nrp: r.text("nrp")?,
        name: r.text("name")?,
        rank: r.text("rank")?,
        unit: unit_path(&r.text("unit")?)?,
        roles: Roles::parse(&roles).map_err(|_| corrupt("roles", &roles))?,
        access_until: r.opt_int("access_until")?,
        disabled: r.opt_int("disabled_at")?.is_some(),
        password_hash: r.opt_text("password_hash")?,
    })
}

pub(super) const PERSON_COLUMNS: &str = "person_id, nrp, name, rank, unit, roles, access_until, \
     password_hash, disabled_at";

/// `unit = $n or unit in [lo, hi)`: the subtree test as an index range (see
/// [`UnitPath::descendant_range`]), for a column named `col` starting at placeholder `n`.
pub(super) fn subtree(col: &str, n: usize) -> String {
    format!(
        "({col} = ${n} or ({col} >= ${} and {col} < ${}))",
        n + 1,
        n + 2
    )
}

/// Implements [`Directory`] for a store whose reads go to `$read` and writes to `$write`.
macro_rules! impl_directory {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl Directory for $store {
            async fn insert_principal(&self, p: &NewPrincipal) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into principal (principal_id, kind, role, name, unit, officer, \
                     actor_id, token_hash, created_at, person_id, public_key, own_records_only) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(p.id.to_string())
                .bind(p.kind.as_str())
                .bind(p.roles.to_string())
                .bind(&p.name)
                .bind(p.unit.as_str())
                .bind(&p.officer)
                .bind(&p.actor_id)
                .bind(&p.token_hash)
                .bind(jiff::Timestamp::now().as_millisecond())
                .bind(p.person.map(|id| id.to_string()))
                .bind(&p.public_key)
                .bind(i64::from(p.own_records_only))
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn principal_by_token_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<Principal>, StoreError> {
                let row = sqlx::query(
                    "select p.principal_id, p.kind, p.role, p.name, p.unit, p.officer, \
                     p.actor_id, p.revoked_at, p.person_id, p.own_records_only, \
                     s.access_until, s.disabled_at \
                     from principal p left join person s on s.person_id = p.person_id \
                     where p.token_hash = $1",
                )
                .bind(hash)
                .fetch_optional(&self.$read)
                .await?;
                row.map(|r| super::rows::principal(&r)).transpose()
            }

            async fn insert_unit(&self, u: &Unit) -> Result<bool, StoreError> {
                let now = jiff::Timestamp::now().as_millisecond();
                let done = sqlx::query(
                    "insert into unit (path, name, kind, parent, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $5) on conflict (path) do nothing",
                )
                .bind(u.path.as_str())
                .bind(&u.name)
                .bind(u.kind.as_str())
                .bind(u.parent.as_ref().map(UnitPath::as_str))
                .bind(now)
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn unit(&self, path: &UnitPath) -> Result<Option<Unit>, StoreError> {
                let row = sqlx::query("select * from unit where path = $1")
                    .bind(path.as_str())
                    .fetch_optional(&self.$read)
                    .await?;
                row.map(|r| unit_row(&r)).transpose()
            }

            async fn units(&self, scope: &UnitPath) -> Result<Vec<Unit>, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let sql = format!("select * from unit where {} order by path", subtree("path", 1));
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(scope.as_str())
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter().map(unit_row).collect()
            }

            async fn rename_unit(&self, path: &UnitPath, name: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("update unit set name = $1, updated_at = $2 where path = $3")
                    .bind(name)
                    .bind(jiff::Timestamp::now().as_millisecond())
                    .bind(path.as_str())
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn move_unit(&self, from: &UnitPath, to: &UnitPath) -> Result<(), StoreError> {
                let (lo, hi) = from.descendant_range();
                let cut = i64::try_from(from.as_str().len() + 1)
                    .map_err(|_| corrupt("unit path", from.as_str()))?;
                let new_parent = crate::directory::parent_of(to);
                let mut tx = self.$write.begin().await?;
                // Re-root every path of the subtree: `to` + what followed `from`.
                for (table, col) in [("unit", "path"), ("unit", "parent"), ("person", "unit"), ("principal", "unit")] {
                    let sql = format!(
                        "update {table} set {col} = $4 || substr({col}, cast($5 as integer)) where {}",
                        subtree(col, 1)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(from.as_str())
                        .bind(&lo)
                        .bind(&hi)
                        .bind(to.as_str())
                        .bind(cut)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("update unit set parent = $1, updated_at = $2 where path = $3")
                    .bind(new_parent.as_ref().map(UnitPath::as_str))
                    .bind(jiff::Timestamp::now().as_millisecond())
                    .bind(to.as_str())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_person(&self, p: &Person) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "insert into person (person_id, nrp, name, rank, unit, roles, access_until, \
                     password_hash, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     on conflict (nrp) do nothing",
                )
                .bind(p.id.to_string())
                .bind(&p.nrp)
                .bind(&p.name)
                .bind(&p.rank)
                .bind(p.unit.as_str())
                .bind(p.roles.to_string())
                .bind(p.access_until)
                .bind(&p.password_hash)
                .bind(jiff::Timestamp::now().as_millisecond())
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn person_by_nrp(&self, nrp: &str) -> Result<Option<Person>, StoreError> {
                let sql = format!("select {PERSON_COLUMNS} from person where nrp = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(nrp)
                    .fetch_optional(&self.$read)
                    .await?;
                row.map(|r| person_row(&r)).transpose()
            }

            async fn people(&self, scope: &UnitPath) -> Result<Vec<Person>, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let sql = format!(
                    "select {PERSON_COLUMNS} from person where {} order by unit, name",
                    subtree("unit", 1)
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(scope.as_str())
                    .bind(lo)
                    .bind(hi)
                    .fetch_all(&self.$read)
                    .await?;
                rows.iter().map(person_row).collect()
            }

            async fn set_password(&self, person: Uuid, hash: &str) -> Result<bool, StoreError> {
                let done = sqlx::query("update person set password_hash = $1 where person_id = $2")
                    .bind(hash)
                    .bind(person.to_string())
                    .execute(&self.$write)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

        }
    };
}

impl_directory!(super::sqlite::SqliteStore, reader, writer);
impl_directory!(super::postgres::PgStore, pool, pool);
