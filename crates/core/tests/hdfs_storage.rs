//! The HDFS storage against the real HDFS started by `scripts/services.sh up hdfs` (the test
//! command exports EXAMLAKE_TEST_HDFS=hdfs://127.0.0.1:9000 and HADOOP_USER_NAME).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use examlake_core::layout::Key;
use examlake_core::storage;

fn hdfs_url(name: &str) -> String {
    let base = std::env::var("EXAMLAKE_TEST_HDFS").unwrap_or_else(|_| {
        panic!("EXAMLAKE_TEST_HDFS is not set: start HDFS with `scripts/services.sh up hdfs` and export EXAMLAKE_TEST_HDFS=hdfs://127.0.0.1:9000 HADOOP_USER_NAME=hdfs (scripts/test.sh does both)")
    });
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{base}/test-{name}-{nanos:x}")
}

fn key(text: &str) -> Key {
    Key::parse(text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn files_round_trip_and_tenant_roots_are_0750() {
    let url = hdfs_url("roundtrip");
    let store = storage::open(&url).unwrap_or_else(|e| panic!("{e}"));
    let k = key("tenant=acme/raw/date=2026-11-28/a.parquet");
    store
        .write_atomic(&k, b"hello")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.read(&k).unwrap_or_default(), b"hello");
    assert!(store.exists(&k).unwrap_or(false));
    assert_eq!(
        store.list(&key("tenant=acme")).unwrap_or_default(),
        vec![k.clone()]
    );
    assert!(store
        .list(&key("tenant=globex"))
        .unwrap_or_default()
        .is_empty());

    // A write killed before its rename leaves its temporary name: never listed as a file, but
    // listed as unfinished so its owner can remove it.
    let (authority, path) = url.split_at(url.find("/test-").unwrap_or(url.len()));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let client = hdfs_native::ClientBuilder::new()
        .with_url(authority)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let temp = "tenant=acme/raw/date=2026-11-28/.b.parquet.1.inprogress";
    runtime
        .block_on(async {
            let options = hdfs_native::WriteOptions::default();
            let mut writer = client.create(&format!("{path}/{temp}"), &options).await?;
            writer
                .write_bytes(bytes::Bytes::from_static(b"partial"))
                .await?;
            writer.close().await
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.list(&key("tenant=acme")).unwrap_or_default(),
        vec![k.clone()]
    );
    assert_eq!(
        store
            .list_unfinished(&key("tenant=acme"))
            .unwrap_or_default(),
        vec![key(temp)]
    );
    store.delete(&key(temp)).unwrap_or_else(|e| panic!("{e}"));
    assert!(store
        .list_unfinished(&key("tenant=acme"))
        .unwrap_or_default()
        .is_empty());

    assert_eq!(
        store.root_dirs().unwrap_or_default(),
        vec!["tenant=acme".to_string()]
    );
    store
        .write_atomic(&k, b"again")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.read(&k).unwrap_or_default(), b"again");
    store.delete(&k).unwrap_or_else(|e| panic!("{e}"));
    assert!(!store.exists(&k).unwrap_or(true));
    store
        .delete(&k)
        .unwrap_or_else(|e| panic!("deleting a missing file: {e}"));

    // The mode of the tenant root, as the NameNode reports it (WebHDFS is not needed: list the
    // warehouse root through a second client and check the permission bits).
    let mode =
        examlake_core::hdfs::permission_of(&url, "tenant=acme").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mode, 0o750, "tenant root mode {mode:o}");
}

#[test]
fn a_reader_during_writes_sees_whole_files_only() {
    let url = hdfs_url("atomic");
    let store = storage::open(&url).unwrap_or_else(|e| panic!("{e}"));
    const SIZE: usize = 3 * 1024 * 1024 + 17; // several packets, not a round number
    let stop = Arc::new(AtomicBool::new(false));
    let whole_reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let store = store.clone();
        let stop = stop.clone();
        let whole_reads = whole_reads.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for k in store.list(&key("tenant=acme")).unwrap_or_default() {
                    // A file replaced between list and read may be gone: that is not a partial read.
                    let Ok(bytes) = store.read(&k) else { continue };
                    assert_eq!(
                        bytes.len(),
                        SIZE,
                        "{k}: partial file of {} bytes visible",
                        bytes.len()
                    );
                    let first = bytes[0];
                    assert!(
                        bytes.iter().all(|b| *b == first),
                        "{k}: mixed content visible"
                    );
                    whole_reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    for version in 0..12u8 {
        let bytes = vec![version; SIZE];
        store
            .write_atomic(&key("tenant=acme/tables/assessments/data.parquet"), &bytes)
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .write_atomic(
                &key(&format!(
                    "tenant=acme/raw/date=2026-11-28/f{version}.parquet"
                )),
                &bytes,
            )
            .unwrap_or_else(|e| panic!("{e}"));
    }
    stop.store(true, Ordering::Relaxed);
    reader
        .join()
        .unwrap_or_else(|_| panic!("the reader saw a partial file"));
    assert!(
        whole_reads.load(Ordering::Relaxed) > 0,
        "the reader never overlapped a write"
    );
    assert_eq!(
        store.list(&key("tenant=acme")).unwrap_or_default().len(),
        13
    );
}

#[test]
fn a_tenant_root_given_to_its_user_cannot_be_listed_by_another_tenants_user() {
    use examlake_core::TenantId;
    let url = hdfs_url("owners");
    let store = storage::open(&url).unwrap_or_else(|e| panic!("{e}"));
    let acme = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
    // As `examlake tenant add --hdfs-owner` does: the root is given away before data lands.
    store
        .set_tenant_owner(&acme, "tenant-acme", "examlake")
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .write_atomic(
            &key("tenant=acme/raw/date=2026-11-28/a.parquet"),
            b"acme data",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        examlake_core::hdfs::permission_of(&url, "tenant=acme").unwrap_or(0),
        0o770
    );
    // A job running as globex's user: denied by the NameNode, with its own error.
    let (authority, path) = url.split_at(url.find("/test-").unwrap_or(url.len()));
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let as_user = |user: &str| {
        hdfs_native::ClientBuilder::new()
            .with_url(authority)
            .with_user(user)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let globex = as_user("tenant-globex");
    let denied = runtime.block_on(globex.list_status(&format!("{path}/tenant=acme"), true));
    match denied {
        Err(hdfs_native::HdfsError::RPCError(class, _)) => {
            assert!(class.contains("AccessControlException"), "{class}")
        }
        other => panic!("tenant-globex listed acme's root: {other:?}"),
    }
    // acme's own user can list its root.
    let acme_client = as_user("tenant-acme");
    let listed = runtime
        .block_on(acme_client.list_status(&format!("{path}/tenant=acme"), false))
        .unwrap_or_else(|e| panic!("tenant-acme cannot list its own root: {e}"));
    assert!(!listed.is_empty());
}
