//! Crash test: a worker's tasks die at random moments in the middle of jobs (its zone guard
//! is revoked and its runner aborted, so nothing it had in flight reaches the API again);
//! another worker resumes every job. Every job must complete and the emulator must hold
//! exactly one resource per job, counted by the job's tag (Instance and Block creates alike).

mod jobs_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleet_core::block;
use fleet_core::{
    CreateServerRequest, CreateSnapshotRequest, CreateVolumeRequest, ListServersQuery,
    ListSnapshotsQuery, ListVolumesQuery, VolumeVolumeType,
};
use fleet_jobs::{CreateServerJob, CreateSnapshotJob, CreateVolumeJob, JobSpec, job_tag};
use fleet_scheduler::JobState;
use jobs_support::{Env, ZONE};

/// A small deterministic generator (xorshift), seeded per run and printed for replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_survive_workers_dying_at_random_steps() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    println!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let env = Env::start(Duration::from_millis(300)).await;
    let lease = Duration::from_secs(1);
    let trials = 12;
    let mut servers = Vec::new();
    let mut snapshots = Vec::new();
    let mut volumes = Vec::new();
    let mut block_snapshots = Vec::new();
    let mut block_volumes = Vec::new();
    for trial in 0..trials {
        let volume = env
            .client
            .create_volume(
                ZONE,
                &CreateVolumeRequest {
                    name: Some(format!("src-{trial}")),
                    volume_type: Some(VolumeVolumeType::LSsd),
                    size: Some(1_000_000_000),
                    ..Default::default()
                },
            )
            .await
            .expect("source volume");
        for i in 0..4 {
            let spec = JobSpec::CreateServer(CreateServerJob {
                request: CreateServerRequest {
                    name: Some(format!("crash-{trial}-{i}")),
                    commercial_type: Some("DEV1-S".into()),
                    image: Some("ubuntu_noble".into()),
                    ..Default::default()
                },
                start: true,
                ..Default::default()
            });
            servers.push(env.enqueue(&spec).await);
        }
        snapshots.push(
            env.enqueue(&JobSpec::CreateSnapshot(CreateSnapshotJob {
                request: CreateSnapshotRequest {
                    volume_id: Some(volume.id.clone()),
                    ..Default::default()
                },
            }))
            .await,
        );
        volumes.push(
            env.enqueue(&JobSpec::CreateVolume(CreateVolumeJob {
                request: CreateVolumeRequest {
                    volume_type: Some(VolumeVolumeType::LSsd),
                    size: Some(1_000_000_000),
                    ..Default::default()
                },
                perf_iops: None,
            }))
            .await,
        );
        let sbs = env
            .client
            .block_create_volume(
                ZONE,
                &block::CreateVolumeRequest::empty(format!("sbs-src-{trial}"), 10 * block::GB),
            )
            .await
            .expect("source SBS volume");
        block_snapshots.push(
            env.enqueue(&JobSpec::CreateSnapshot(CreateSnapshotJob {
                request: CreateSnapshotRequest {
                    volume_id: Some(sbs.id.clone()),
                    ..Default::default()
                },
            }))
            .await,
        );
        block_volumes.push(
            env.enqueue(&JobSpec::CreateVolume(CreateVolumeJob {
                request: CreateVolumeRequest {
                    volume_type: Some(VolumeVolumeType::SbsVolume),
                    size: Some(10 * block::GB),
                    ..Default::default()
                },
                perf_iops: None,
            }))
            .await,
        );
        // One or two crashes at random moments, then a survivor.
        let crashes = 1 + rng.below(2);
        for c in 0..crashes {
            let worker = env.spawn_worker(&format!("doomed-{trial}-{c}"), lease);
            tokio::time::sleep(Duration::from_millis(rng.below(700))).await;
            worker.abort();
        }
        let survivor = env.spawn_worker(&format!("survivor-{trial}"), lease);
        let trial_jobs: Vec<i64> = servers[servers.len() - 4..]
            .iter()
            .chain(snapshots.last())
            .chain(volumes.last())
            .chain(block_snapshots.last())
            .chain(block_volumes.last())
            .copied()
            .collect();
        for id in trial_jobs {
            let job = env.wait_terminal(id, Duration::from_secs(60)).await;
            assert_eq!(
                job.state,
                JobState::Completed,
                "seed {seed}: job {id}: {:?}",
                job.errors
            );
        }
        survivor.stop().await;
    }

    for id in servers {
        let query = ListServersQuery {
            tags: Some(vec![job_tag(id)]),
            ..Default::default()
        };
        let found = env.client.list_servers(ZONE, &query).await.unwrap().items;
        assert_eq!(found.len(), 1, "seed {seed}: job {id} servers: {found:?}");
        assert_eq!(found[0].state.as_str(), "running");
    }
    for id in snapshots {
        let query = ListSnapshotsQuery {
            tags: Some(vec![job_tag(id)]),
            ..Default::default()
        };
        let found = env.client.list_snapshots(ZONE, &query).await.unwrap().items;
        assert_eq!(found.len(), 1, "seed {seed}: job {id} snapshots: {found:?}");
    }
    for id in volumes {
        let query = ListVolumesQuery {
            tags: Some(vec![job_tag(id)]),
            ..Default::default()
        };
        let found = env.client.list_volumes(ZONE, &query).await.unwrap().items;
        assert_eq!(found.len(), 1, "seed {seed}: job {id} volumes: {found:?}");
    }
    for id in block_snapshots {
        let query = block::ListSnapshotsQuery {
            tags: Some(vec![job_tag(id)]),
            ..Default::default()
        };
        let found = env
            .client
            .block_list_snapshots(ZONE, &query)
            .await
            .unwrap()
            .items;
        assert_eq!(
            found.len(),
            1,
            "seed {seed}: job {id} Block snapshots: {found:?}"
        );
    }
    for id in block_volumes {
        let query = block::ListVolumesQuery {
            tags: Some(vec![job_tag(id)]),
            ..Default::default()
        };
        let found = env
            .client
            .block_list_volumes(ZONE, &query)
            .await
            .unwrap()
            .items;
        assert_eq!(
            found.len(),
            1,
            "seed {seed}: job {id} Block volumes: {found:?}"
        );
    }
}
