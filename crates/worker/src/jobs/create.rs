//! The effectively-once create of one storage resource (snapshot, image, volume, of either
//! API), then the wait for `available`, shared by the storage handlers.

use fleet_core::Maybe;
use fleet_jobs::{ResourceKind, job_tag};
use fleet_scheduler::Outcome;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::error::{ErrorClass, StepError};
use super::locate::Holder;
use super::observe::{Observed, WatchKey};
use super::{Judge, Run, Waited, now_rfc3339, parse_time};

/// A create's progress.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct CreateData {
    /// The create is about to be (or was) sent.
    pub intent: bool,
    /// What it made.
    pub id: Option<String>,
    pub created_at: Option<String>,
    /// The API the resource is made in, decided before the intent (absent: Instance).
    pub holder: Option<Holder>,
}

/// `available` is the target of every storage create; these states end it for good (the
/// Instance `error`/`invalid_data`, the Block `error`/`locked`/`deleted`).
pub(crate) fn judge_available(o: &Observed) -> Judge {
    match o.state().0.as_str() {
        "available" => Judge::Done,
        "error" | "invalid_data" | "locked" | "deleted" => Judge::Unreachable,
        _ => Judge::Wait,
    }
}

/// Create a tagged resource once, then wait for `available`. `find` lists by the job's tag
/// (called only when an intent exists without an id), `create` sends the create with the
/// tag, `remove` is the compensation of a resource that ends in error.
pub(crate) async fn create_and_wait(
    run: &mut Run<'_>,
    kind: ResourceKind,
    expect: &str,
    find: impl AsyncFnOnce(&Run<'_>, String) -> Result<Option<String>, StepError>,
    create: impl AsyncFnOnce(&Run<'_>, String) -> Result<String, StepError>,
    remove: impl AsyncFnOnce(&Run<'_>, String) -> Result<(), StepError>,
) -> Result<Outcome, StepError> {
    let mut data: CreateData = run.data()?;
    let tag = job_tag(run.job_id());
    let operation = run.job.job.kind.clone();
    if data.id.is_none() {
        if data.intent {
            data.id = find(run, tag.clone()).await?;
            if let Some(id) = &data.id {
                tracing::info!(zone = %run.zone(), job_id = run.job_id(), %operation, id,
                    "adopting the resource an earlier attempt created");
            }
        }
        if data.id.is_none() {
            data.intent = true;
            data.created_at = Some(now_rfc3339());
            run.set_data(&data);
            run.save("create_requested").await?;
            match create(run, tag).await {
                Ok(id) => data.id = Some(id),
                Err(err) if err.class() == ErrorClass::Permanent => {
                    return Ok(run.upstream_failed(&operation, &err));
                }
                Err(err) => return Err(err),
            }
        }
        run.set_resource(kind, data.id.as_deref().unwrap_or_default());
        run.set_data(&data);
        run.save("created").await?;
        if run.cancel_requested {
            return Ok(Outcome::Cancelled);
        }
    }
    let id = data.id.clone().unwrap_or_default();
    let key = WatchKey::new(kind, &id);
    let since = data
        .created_at
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let waited = run.wait(&key, since, Some(expect), judge_available).await?;
    Ok(match waited {
        Waited::Done(observed) => Outcome::Complete(observed.to_json()),
        Waited::Pending(outcome) => outcome,
        Waited::Unreachable(observed) => {
            let what = kind.public().as_str();
            let note = match remove(run, id.clone()).await {
                Ok(()) => format!("deleted {what} {id}"),
                Err(err) => format!("left {what} {id}: {err}"),
            };
            run.wait_failed(&Waited::Unreachable(observed), "available", vec![note])
        }
        other => run.wait_failed(&other, "available", Vec::new()),
    })
}

/// `tags` with the job's tag added (Instance bodies).
pub(crate) fn with_tag(tags: &Option<Vec<String>>, tag: String) -> Option<Vec<String>> {
    let mut tags = tags.clone().unwrap_or_default();
    if !tags.contains(&tag) {
        tags.push(tag);
    }
    Some(tags)
}

/// `tags` with the job's tag added (Block bodies, whose `tags` may be sent as `null`).
pub(crate) fn with_block_tag(tags: &Maybe<Vec<String>>, tag: String) -> Maybe<Vec<String>> {
    Maybe::Value(with_tag(&tags.value().cloned(), tag).unwrap_or_default())
}

/// The smallest id of the resources a tag list found (an earlier attempt made exactly one;
/// the smallest is a stable choice should there ever be more).
pub(crate) fn adopted<T>(items: Vec<T>, id: impl Fn(T) -> String) -> Option<String> {
    items.into_iter().map(id).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_tag_is_added_once() {
        let tag = job_tag(7);
        assert_eq!(
            with_tag(&Some(vec!["web".into()]), tag.clone()),
            Some(vec!["web".to_owned(), tag.clone()])
        );
        assert_eq!(
            with_block_tag(&Maybe::Null, tag.clone()),
            Maybe::Value(vec![tag.clone()])
        );
        assert_eq!(
            with_block_tag(&Maybe::Value(vec![tag.clone()]), tag.clone()),
            Maybe::Value(vec![tag])
        );
        assert_eq!(adopted(vec!["b", "a"], str::to_owned), Some("a".to_owned()));
    }
}
