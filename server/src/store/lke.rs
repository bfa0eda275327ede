//! LKE editions and worksheets in the evidence store: the loaded editions, each unit's
//! worksheet per year (figures, and one row per answered question with its linked evidence),
//! and the counts of evidence per LKE sub-indicator that readiness is computed from.
//!
//! One body of SQL serves both databases ([`impl_lke_store!`]).

use std::collections::HashMap;

use async_trait::async_trait;
use bukti_core::unit::UnitPath;

use super::{StoreError, directory::subtree, rows::StoreRow};

/// An edition as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEdition {
    pub edition: String,
    pub version: i64,
    pub title: String,
    pub loaded_at: i64,
}

/// The figures of a worksheet that are not answers to questions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub ipak_survey: Option<f64>,
    pub ipkp_survey: Option<f64>,
    pub capaian_kinerja: Option<String>,
    pub holds_wbk: bool,
}

/// One answered question.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerRow {
    pub question: String,
    pub option: Option<String>,
    pub inputs: std::collections::BTreeMap<String, f64>,
    pub evidence: Vec<String>,
    pub updated_at: i64,
    pub updated_by: String,
}

/// A unit's worksheet for a year as stored: empty when nobody has written to it yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredWorksheet {
    pub figures: Figures,
    pub answers: Vec<AnswerRow>,
}

/// A linked evidence record as the worksheet shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRecord {
    pub id: String,
    pub unit: String,
    pub title: String,
    pub verified: bool,
    pub lke: Vec<String>,
}

/// How much evidence one sub-indicator has in a unit and period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvidenceCount {
    pub tagged: u64,
    pub verified: u64,
}

#[async_trait]
pub trait LkeStore: Send + Sync {
    /// Stores a validated edition; false when the same edition at a higher version is there.
    async fn insert_edition(&self, edition: &StoredEdition, body: &str)
    -> Result<bool, StoreError>;

    /// The body of the edition loaded last, if any was.
    async fn active_edition(&self) -> Result<Option<String>, StoreError>;

    async fn editions(&self) -> Result<Vec<StoredEdition>, StoreError>;

    async fn worksheet(&self, unit: &UnitPath, year: i32) -> Result<StoredWorksheet, StoreError>;

    async fn put_answer(
        &self,
        unit: &UnitPath,
        year: i32,
        answer: &AnswerRow,
    ) -> Result<(), StoreError>;

    async fn put_figures(
        &self,
        unit: &UnitPath,
        year: i32,
        figures: &Figures,
        by: &str,
    ) -> Result<(), StoreError>;

    /// Evidence per sub-indicator code among records of `scope` active in `[from_ms, to_ms)`.
    async fn evidence_counts(
        &self,
        scope: &UnitPath,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<HashMap<String, EvidenceCount>, StoreError>;

    /// Those of `ids` that are records within `scope`.
    async fn evidence_records(
        &self,
        scope: &UnitPath,
        ids: &[String],
    ) -> Result<HashMap<String, EvidenceRecord>, StoreError>;
}

/// Ids asked for in one statement (SQLite's bound-parameter limit is finite).
const ID_CHUNK: usize = 200;

/// `$first, $first+1, …` for `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!("worksheet answer JSON: {e}"))
}

fn answer_row(r: &impl StoreRow) -> Result<AnswerRow, StoreError> {
    Ok(AnswerRow {
        question: r.text("question")?,
        option: r.opt_text("option_code")?,
        inputs: serde_json::from_str(&r.text("inputs")?).map_err(json_err)?,
        evidence: serde_json::from_str(&r.text("evidence")?).map_err(json_err)?,
        updated_at: r.int("updated_at")?,
        updated_by: r.text("updated_by")?,
    })
}

/// Implements [`LkeStore`] for a store whose reads go to `$read` and writes to `$write`.
macro_rules! impl_lke_store {
    ($store:ty, $read:ident, $write:ident) => {
        #[async_trait]
        impl LkeStore for $store {
            async fn insert_edition(
                &self,
                e: &StoredEdition,
                body: &str,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "insert into lke_edition (edition, version, title, body, loaded_at) \
                     values ($1, $2, $3, $4, $5) on conflict (edition) do update set \
                     version = excluded.version, title = excluded.title, body = excluded.body, \
                     loaded_at = excluded.loaded_at \
                     where lke_edition.version <= excluded.version",
                )
                .bind(&e.edition)
                .bind(e.version)
                .bind(&e.title)
                .bind(body)
                .bind(e.loaded_at)
                .execute(&self.$write)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn active_edition(&self) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(
                    "select body from lke_edition order by loaded_at desc, edition limit 1",
                )
                .fetch_optional(&self.$read)
                .await?;
                Ok(row.map(|r| r.text("body")).transpose()?)
            }

            async fn editions(&self) -> Result<Vec<StoredEdition>, StoreError> {
                let rows = sqlx::query(
                    "select edition, version, title, loaded_at from lke_edition \
                     order by loaded_at desc, edition",
                )
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(StoredEdition {
                            edition: r.text("edition")?,
                            version: r.int("version")?,
                            title: r.text("title")?,
                            loaded_at: r.int("loaded_at")?,
                        })
                    })
                    .collect()
            }

            async fn worksheet(
                &self,
                unit: &UnitPath,
                year: i32,
            ) -> Result<StoredWorksheet, StoreError> {
                let figures = sqlx::query(
                    "select ipak_survey, ipkp_survey, capaian_kinerja, holds_wbk \
                     from worksheet where unit = $1 and year = $2",
                )
                .bind(unit.as_str())
                .bind(i64::from(year))
                .fetch_optional(&self.$read)
                .await?
                .map(|r| -> Result<Figures, StoreError> {
                    Ok(Figures {
                        ipak_survey: r.opt_float("ipak_survey")?,
                        ipkp_survey: r.opt_float("ipkp_survey")?,
                        capaian_kinerja: r.opt_text("capaian_kinerja")?,
                        holds_wbk: r.int("holds_wbk")? != 0,
                    })
                })
                .transpose()?
                .unwrap_or_default();
                let rows = sqlx::query(
                    "select question, option_code, inputs, evidence, updated_at, updated_by \
                     from worksheet_answer where unit = $1 and year = $2 order by question",
                )
                .bind(unit.as_str())
                .bind(i64::from(year))
                .fetch_all(&self.$read)
                .await?;
                let answers = rows.iter().map(answer_row).collect::<Result<_, _>>()?;
                Ok(StoredWorksheet { figures, answers })
            }

            async fn put_answer(
                &self,
                unit: &UnitPath,
                year: i32,
                a: &AnswerRow,
            ) -> Result<(), StoreError> {
                let inputs = serde_json::to_string(&a.inputs).map_err(json_err)?;
                let evidence = serde_json::to_string(&a.evidence).map_err(json_err)?;
                sqlx::query(
                    "insert into worksheet_answer (unit, year, question, option_code, inputs, \
                     evidence, updated_at, updated_by) values ($1, $2, $3, $4, $5, $6, $7, $8) \
                     on conflict (unit, year, question) do update set \
                     option_code = excluded.option_code, inputs = excluded.inputs, \
                     evidence = excluded.evidence, updated_at = excluded.updated_at, \
                     updated_by = excluded.updated_by",
                )
                .bind(unit.as_str())
                .bind(i64::from(year))
                .bind(&a.question)
                .bind(&a.option)
                .bind(inputs)
                .bind(evidence)
                .bind(a.updated_at)
                .bind(&a.updated_by)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn put_figures(
                &self,
                unit: &UnitPath,
                year: i32,
                f: &Figures,
                by: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "insert into worksheet (unit, year, ipak_survey, ipkp_survey, \
                     capaian_kinerja, holds_wbk, updated_at, updated_by) \
                     values ($1, $2, $3, $4, $5, $6, $7, $8) \
                     on conflict (unit, year) do update set \
                     ipak_survey = excluded.ipak_survey, ipkp_survey = excluded.ipkp_survey, \
                     capaian_kinerja = excluded.capaian_kinerja, holds_wbk = excluded.holds_wbk, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(unit.as_str())
                .bind(i64::from(year))
                .bind(f.ipak_survey)
                .bind(f.ipkp_survey)
                .bind(&f.capaian_kinerja)
                .bind(i64::from(f.holds_wbk))
                .bind(jiff::Timestamp::now().as_millisecond())
                .bind(by)
                .execute(&self.$write)
                .await?;
                Ok(())
            }

            async fn evidence_counts(
                &self,
                scope: &UnitPath,
                from_ms: i64,
                to_ms: i64,
            ) -> Result<HashMap<String, EvidenceCount>, StoreError> {
                let rows = super::dashboard::scoped_period!(
                    "select l.code, count(*) as tagged, \
                     sum(case when r.verdict in ('valid', 'verified') then 1 else 0 end) \
                     as verified \
                     from record_lke l join record r on r.record_id = l.record_id \
                     where {scope} and r.activity_at >= $4 and r.activity_at < $5 \
                     group by l.code",
                    scope,
                    from_ms,
                    to_ms
                )
                .fetch_all(&self.$read)
                .await?;
                rows.iter()
                    .map(|r| {
                        let count = |c: &str| r.int(c).map(|n| u64::try_from(n).unwrap_or(0));
                        Ok((
                            r.text("code")?,
                            EvidenceCount {
                                tagged: count("tagged")?,
                                verified: count("verified")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn evidence_records(
                &self,
                scope: &UnitPath,
                ids: &[String],
            ) -> Result<HashMap<String, EvidenceRecord>, StoreError> {
                let (lo, hi) = scope.descendant_range();
                let mut out: HashMap<String, EvidenceRecord> = HashMap::new();
                for chunk in ids.chunks(ID_CHUNK) {
                    let list = placeholders(4, chunk.len());
                    let sql = format!(
                        "select r.record_id, r.unit, r.title, r.verdict, l.code \
                         from record r left join record_lke l on l.record_id = r.record_id \
                         where {} and r.record_id in ({list}) order by r.record_id, l.code",
                        subtree("r.unit", 1)
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(scope.as_str())
                        .bind(&lo)
                        .bind(&hi);
                    for id in chunk {
                        query = query.bind(id);
                    }
                    for r in query.fetch_all(&self.$read).await? {
                        let id = r.text("record_id")?;
                        let code = r.opt_text("code")?;
                        if let Some(known) = out.get_mut(&id) {
                            known.lke.extend(code);
                            continue;
                        }
                        let verdict = r.opt_text("verdict")?;
                        out.insert(
                            id.clone(),
                            EvidenceRecord {
                                id,
                                unit: r.text("unit")?,
                                title: r.text("title")?,
                                verified: matches!(verdict.as_deref(), Some("valid" | "verified")),
                                lke: code.into_iter().collect(),
                            },
                        );
                    }
                }
                Ok(out)
            }
        }
    };
}

impl_lke_store!(super::sqlite::SqliteStore, reader, writer);
impl_lke_store!(super::postgres::PgStore, pool, pool);
