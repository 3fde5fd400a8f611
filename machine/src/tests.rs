//! Fixture-tree and real-machine tests for the sampler.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::cloud::{detect_provider, identify_with};
use super::metadata::Placement;
use super::*;

/// `machine/tests/fixtures`: one folder per machine, mounted as `MachineConfig::root`.
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Loads `<fixture>/env` (`KEY=VALUE` lines) when present.
fn fixture_config(name: &str) -> MachineConfig {
    let root = fixtures_dir().join(name);
    assert!(root.is_dir(), "missing fixture {}", root.display());
    let env: HashMap<String, String> = std::fs::read_to_string(root.join("env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    MachineConfig { env, ..MachineConfig::for_root(root) }
}

/// A clock the test moves by hand.
#[derive(Clone, Default)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

fn no_nvml() -> GpuProbe {
    GpuProbe::with_library(OsStr::new("/nonexistent/libnvidia-ml.so.1"))
}

/// (fixture folder, expected provider, text the evidence must contain)
const PROVIDER_CASES: &[(&str, CloudProvider, &str)] = &[
    ("localhost", CloudProvider::Localhost, r#"sys_vendor="Dell Inc.""#),
    ("gcp", CloudProvider::Gcp, r#"product_name="Google Compute Engine""#),
    ("codespaces", CloudProvider::GithubCodespaces, "env CODESPACES=true"),
    ("aws", CloudProvider::Aws, r#"sys_vendor="Amazon EC2""#),
    ("aws-xen", CloudProvider::Aws, "starts with ec2"),
    ("aws-lambda", CloudProvider::Aws, "env AWS_EXECUTION_ENV=AWS_Lambda_rust"),
    ("azure", CloudProvider::Azure, "7783-7084-3265-9085-8269-3286-77"),
    ("tencent", CloudProvider::Tencent, r#"product_name="Tencent Cloud CVM""#),
    ("alibaba", CloudProvider::Alibaba, r#"product_name="Alibaba Cloud ECS""#),
    ("ibm", CloudProvider::Ibm, r#"chassis_vendor="IBM:Cloud Compute Server 1.0""#),
    ("oracle", CloudProvider::Oracle, r#"chassis_asset_tag="OracleCloud.com""#),
];

#[test]
fn every_provider_fixture_is_detected_with_its_marker() {
    for (fixture, provider, evidence) in PROVIDER_CASES {
        let config = fixture_config(fixture);
        let detection = detect_provider(&config.root, &config.env);
        let evidence_text = &detection.evidence;
        assert_eq!(detection.provider, *provider, "{fixture}: {evidence_text}");
        assert!(evidence_text.contains(evidence), "{fixture}: {evidence_text:?} lacks {evidence:?}");
    }
}

#[test]
fn bare_machine_reports_what_it_looked_at() {
    let config = fixture_config("localhost");
    let detection = detect_provider(&config.root, &config.env);
    assert!(detection.evidence.starts_with("no cloud marker matched"), "{}", detection.evidence);
    assert!(detection.evidence.contains("product_name=\"PowerEdge R640\""));
    assert!(detection.evidence.contains("no cloud environment variable set"));
}

#[test]
fn missing_dmi_directory_is_named_in_the_evidence() {
    let config = fixture_config("thermal-powercap");
    let detection = detect_provider(&config.root, &config.env);
    assert_eq!(detection.provider, CloudProvider::Localhost);
    let expected = format!("{}/sys/class/dmi/id does not exist", config.root.display());
    assert!(detection.evidence.contains(&expected), "{}", detection.evidence);
}

#[test]
fn developer_variables_do_not_make_a_laptop_a_cloud() {
    let mut config = fixture_config("localhost");
    config.env.insert("AWS_REGION".into(), "us-east-1".into());
    config.env.insert("GOOGLE_CLOUD_PROJECT".into(), "my-project".into());
    let identity = identify_with(&config, |_| panic!("metadata lookup is off"));
    assert_eq!(identity.provider, CloudProvider::Localhost);
    assert!(!identity.region.is_value(), "{:?}", identity.region);
}

#[test]
fn region_comes_from_override_then_provider_env() {
    let aws = identify_with(&fixture_config("aws"), |_| panic!("metadata lookup is off"));
    assert_eq!(aws.region, Fact::Value("us-east-1".to_string()));
    assert!(aws.placement_evidence.contains("region: env AWS_REGION"));
    let zone_reason = aws.zone.reason().expect("no zone marker for AWS");
    assert!(zone_reason.contains("metadata lookup is off"), "{zone_reason}");

    let mut config = fixture_config("aws");
    config.region = Some("sa-east-1".into());
    config.zone = Some("sa-east-1a".into());
    let overridden = identify_with(&config, |_| panic!("nothing left to look up"));
    assert_eq!(overridden.region, Fact::Value("sa-east-1".to_string()));
    assert_eq!(overridden.zone, Fact::Value("sa-east-1a".to_string()));
    assert_eq!(overridden.placement_evidence, "region: BARDO_REGION; zone: BARDO_ZONE");
}

#[test]
fn metadata_lookup_runs_only_when_opted_in() {
    let gcp = fixture_config("gcp");
    let off = identify_with(&gcp, |_| panic!("must not be called when metadata_lookup is false"));
    assert!(!off.region.is_value());

    let mut opted_in = gcp.clone();
    opted_in.metadata_lookup = true;
    let mut calls = Vec::new();
    let on = identify_with(&opted_in, |provider| {
        calls.push(provider);
        Ok(Placement {
            region: Some("us-central1".into()),
            zone: Some("us-central1-a".into()),
            source: "http://fake".into(),
        })
    });
    assert_eq!(calls, vec![CloudProvider::Gcp]);
    assert_eq!(on.region, Fact::Value("us-central1".to_string()));
    assert_eq!(on.zone, Fact::Value("us-central1-a".to_string()));
}

/// Copies a fixture so the test can rewrite counters without touching the repo.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

fn write_energy(root: &Path, zone: &str, microjoules: u64) {
    let path = root.join("sys/class/powercap").join(zone).join("energy_uj");
    std::fs::write(path, format!("{microjoules}\n")).expect("write energy_uj");
}

#[test]
fn thermal_zones_are_read_in_degrees_celsius() {
    let mut sampler = MachineProbe::with_parts(
        fixture_config("thermal-powercap"),
        Box::new(ManualClock::default()),
        no_nvml(),
    );
    let zones = sampler.sample().temperatures.value().cloned().expect("zones");
    let summary: Vec<(&str, &str, Option<f64>)> = zones
        .iter()
        .map(|zone| (zone.zone.as_str(), zone.kind.as_str(), zone.celsius.value().copied()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("thermal_zone0", "x86_pkg_temp", Some(45.0)),
            ("thermal_zone1", "acpitz", Some(27.8)),
            ("thermal_zone2", "iwlwifi_1", None),
            ("thermal_zone10", "pch_cannonlake", Some(-1.5)),
        ]
    );
    let reason = zones[2].celsius.reason().expect("zone without temp");
    assert!(reason.ends_with("thermal_zone2/temp does not exist"), "{reason}");
    assert!(zones.iter().all(|zone| zone.source == "thermal_zone"));
}

#[test]
fn rapl_watts_come_from_two_samples_on_the_injected_clock() {
    let root = std::env::temp_dir().join(format!("bardo-machine-rapl-{}", std::process::id()));
    copy_tree(&fixtures_dir().join("thermal-powercap"), &root);
    let clock = ManualClock::default();
    let mut sampler =
        MachineProbe::with_parts(MachineConfig::for_root(&root), Box::new(clock.clone()), no_nvml());
    sampler.set_gflops(Fact::Value(50.0));

    let first = sampler.sample();
    assert_eq!(first.power.package_watts.reason(), Some("intel-rapl:0: needs two samples"));
    assert_eq!(first.power.nominal_watts, Fact::Value(130.0));

    // 30 J on package-0, 10 J on its core, 20 J across the wrap on package-1, in 2 s.
    write_energy(&root, "intel-rapl:0", 31_000_000);
    write_energy(&root, "intel-rapl:0:0", 10_500_000);
    write_energy(&root, "intel-rapl:1", 19_671_150);
    clock.advance(Duration::from_secs(2));
    let second = sampler.sample();
    let _ = std::fs::remove_dir_all(&root);

    let zones = second.power.zones.value().expect("zones");
    let watts: Vec<(&str, Option<f64>)> =
        zones.iter().map(|zone| (zone.name.as_str(), zone.watts.value().copied())).collect();
    assert_eq!(watts, vec![("package-0", Some(15.0)), ("core", Some(5.0)), ("package-1", Some(10.0))]);
    assert!(zones[1].power_limit_watts.reason().is_some_and(|r| r.starts_with("no stated power limit")));
    assert_eq!(second.power.package_watts, Fact::Value(25.0));
    assert_eq!(second.gflops_per_watt, Fact::Value(2.0));
}

#[test]
fn frequencies_fall_back_to_cpuinfo_under_the_root() {
    let mut sampler = MachineProbe::with_parts(
        fixture_config("thermal-powercap"),
        Box::new(ManualClock::default()),
        no_nvml(),
    );
    let cpu = sampler.sample().cpu.value().cloned().expect("cpu");
    assert!(cpu.frequency_source.ends_with("thermal-powercap/proc/cpuinfo \"cpu MHz\""));
    let expected = [3400.0, 1200.5];
    for core in cpu.cores.iter().take(2) {
        assert_eq!(core.frequency_mhz, Fact::Value(expected[core.index]));
    }
    for core in cpu.cores.iter().skip(2) {
        assert!(core.frequency_mhz.reason().is_some(), "fixture lists only two processors");
    }
}

#[test]
fn sampler_reports_missing_nvml_with_the_documented_reason() {
    let mut sampler =
        MachineProbe::with_parts(fixture_config("localhost"), Box::new(ManualClock::default()), no_nvml());
    let reason = sampler.sample().gpus.reason().map(str::to_string).expect("no NVML");
    assert!(reason.starts_with("NVML not available: "), "{reason}");
}

#[test]
fn real_machine_snapshot_serializes_every_field() {
    let mut sampler = MachineProbe::new(MachineConfig::from_process());
    sampler.set_gflops(measure_gflops(Duration::from_millis(20)));
    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL + Duration::from_millis(20));
    let _first = sampler.sample();
    std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL + Duration::from_millis(20));
    let snapshot = sampler.sample();
    let json = serde_json::to_value(&snapshot).expect("serialize snapshot");
    let object = json.as_object().expect("snapshot is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "cloud",
            "cpu",
            "gflops",
            "gflops_basis",
            "gflops_per_watt",
            "gpus",
            "memory",
            "network",
            "power",
            "sample_cost_micros",
            "sampled_at_unix_ms",
            "temperatures"
        ]
    );
    assert!(object.values().all(|value| !value.is_null()));
    let cpu = snapshot.cpu.value().expect("sysinfo works here");
    assert!(cpu.usage_percent.is_value(), "{:?}", cpu.usage_percent);
    assert!(snapshot.memory.value().is_some_and(|m| m.process_rss_bytes.is_value()));
    let network = snapshot.network.value().expect("interfaces");
    assert!(network.iter().all(|nic| nic.received_bytes_per_second.is_value()));
}

#[test]
fn this_vm_without_dmi_is_localhost_and_says_why() {
    let config = MachineConfig::from_process();
    if Path::new("/sys/class/dmi/id").exists() {
        return; // A host with DMI is covered by the fixture tests.
    }
    let detection = detect_provider(&config.root, &config.env);
    if detection.provider == CloudProvider::Localhost {
        assert!(detection.evidence.contains("/sys/class/dmi/id does not exist"), "{}", detection.evidence);
    } else {
        assert!(detection.evidence.starts_with("env "), "{}", detection.evidence);
    }
}
