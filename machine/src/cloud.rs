//! Cloud provider, region and zone, detected without network calls.
//!
//! Markers, in the order they are tried:
//! 1. GitHub Codespaces environment (`CODESPACES=true`, `CODESPACE_NAME`). Checked
//!    first because a codespace runs on an Azure VM whose DMI says "Azure".
//! 2. DMI strings under `<root>/sys/class/dmi/id` and `<root>/sys/hypervisor/uuid`,
//!    the same ones cloud-init's `tools/ds-identify` and data sources read.
//! 3. Environment variables that the platform itself injects into serverless or
//!    PaaS workloads (these have no DMI; Lambda, for one, runs on Firecracker).
//!
//! Variables a developer commonly sets on a laptop (`AWS_REGION`,
//! `AWS_DEFAULT_REGION`, `GOOGLE_CLOUD_PROJECT`) are NOT provider markers: they
//! would report a laptop as a cloud. They are only used for the region once the
//! provider is known.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::fact::Fact;
use super::metadata::{self, Placement};
use super::sysfs::{read_marker, under};
use super::MachineConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloudProvider {
    /// No cloud marker matched.
    Localhost,
    Gcp,
    GithubCodespaces,
    Aws,
    Azure,
    Tencent,
    Alibaba,
    Ibm,
    Oracle,
}

impl CloudProvider {
    pub fn label(self) -> &'static str {
        match self {
            CloudProvider::Localhost => "localhost",
            CloudProvider::Gcp => "GCP",
            CloudProvider::GithubCodespaces => "GitHub Codespaces",
            CloudProvider::Aws => "AWS",
            CloudProvider::Azure => "Azure",
            CloudProvider::Tencent => "Tencent Cloud",
            CloudProvider::Alibaba => "Alibaba Cloud",
            CloudProvider::Ibm => "IBM Cloud",
            CloudProvider::Oracle => "Oracle Cloud",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CloudIdentity {
    pub provider: CloudProvider,
    /// Which marker matched (or, for localhost, what was looked at).
    pub evidence: String,
    pub region: Fact<String>,
    pub zone: Fact<String>,
    /// Where region and zone came from.
    pub placement_evidence: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub provider: CloudProvider,
    pub evidence: String,
}

const DMI_DIR: &str = "/sys/class/dmi/id";
const HYPERVISOR_UUID: &str = "/sys/hypervisor/uuid";

enum Pattern {
    Exact(&'static str),
    Prefix(&'static str),
}

struct DmiMarker {
    provider: CloudProvider,
    field: &'static str,
    pattern: Pattern,
}

/// DMI markers. Sources: cloud-init `tools/ds-identify` (dscheck_GCE, dscheck_Azure,
/// dscheck_AliYun, dscheck_Oracle, ec2_identify_platform) and FIELD-NOTES.md.
/// Tencent: cloud-init `cloudinit/sources/DataSourceTencentCloud.py`
/// (`_is_tencentcloud`: DMI system-product-name == "Tencent Cloud CVM"); ds-identify
/// has no Tencent check and no source we found documents a Tencent `sys_vendor`,
/// so only product_name is used.
const DMI_MARKERS: &[DmiMarker] = &[
    dmi(CloudProvider::Aws, "sys_vendor", Pattern::Exact("Amazon EC2")),
    dmi(CloudProvider::Aws, "board_vendor", Pattern::Exact("Amazon EC2")),
    dmi(CloudProvider::Aws, "chassis_asset_tag", Pattern::Exact("Amazon EC2")),
    dmi(CloudProvider::Gcp, "product_name", Pattern::Exact("Google Compute Engine")),
    dmi(CloudProvider::Gcp, "product_serial", Pattern::Prefix("GoogleCloud-")),
    dmi(CloudProvider::Azure, "chassis_asset_tag", Pattern::Exact("7783-7084-3265-9085-8269-3286-77")),
    dmi(CloudProvider::Alibaba, "product_name", Pattern::Exact("Alibaba Cloud ECS")),
    dmi(CloudProvider::Alibaba, "sys_vendor", Pattern::Exact("Alibaba Cloud")),
    dmi(CloudProvider::Tencent, "product_name", Pattern::Exact("Tencent Cloud CVM")),
    dmi(CloudProvider::Oracle, "chassis_asset_tag", Pattern::Exact("OracleCloud.com")),
    dmi(CloudProvider::Ibm, "chassis_vendor", Pattern::Prefix("IBM:Cloud Compute Server")),
    dmi(CloudProvider::Ibm, "sys_vendor", Pattern::Prefix("IBM:Cloud Compute Server")),
];

const fn dmi(provider: CloudProvider, field: &'static str, pattern: Pattern) -> DmiMarker {
    DmiMarker { provider, field, pattern }
}

/// Fields reported in the localhost evidence, so an operator sees what we saw.
const DMI_FIELDS_SHOWN: &[&str] = &["sys_vendor", "product_name", "chassis_asset_tag"];

/// Env markers injected by the platform (documented by each provider):
/// AWS Lambda/ECS `AWS_EXECUTION_ENV`, Lambda `AWS_LAMBDA_FUNCTION_NAME`, ECS
/// `ECS_CONTAINER_METADATA_URI_V4`; App Engine `GAE_APPLICATION`; Cloud Run jobs
/// `CLOUD_RUN_JOB`; Azure App Service/Functions `WEBSITE_SITE_NAME`; Azure Container
/// Apps `CONTAINER_APP_NAME`; Alibaba Function Compute `FC_FUNCTION_NAME`; IBM Code
/// Engine `CE_PROJECT_ID`; OCI Functions `OCI_RESOURCE_PRINCIPAL_REGION`. No
/// documented Tencent SCF variable was found, so Tencent has none.
const PLATFORM_ENV_MARKERS: &[(CloudProvider, &str)] = &[
    (CloudProvider::Aws, "AWS_EXECUTION_ENV"),
    (CloudProvider::Aws, "AWS_LAMBDA_FUNCTION_NAME"),
    (CloudProvider::Aws, "ECS_CONTAINER_METADATA_URI_V4"),
    (CloudProvider::Gcp, "GAE_APPLICATION"),
    (CloudProvider::Gcp, "CLOUD_RUN_JOB"),
    (CloudProvider::Azure, "WEBSITE_SITE_NAME"),
    (CloudProvider::Azure, "CONTAINER_APP_NAME"),
    (CloudProvider::Alibaba, "FC_FUNCTION_NAME"),
    (CloudProvider::Ibm, "CE_PROJECT_ID"),
    (CloudProvider::Oracle, "OCI_RESOURCE_PRINCIPAL_REGION"),
];

/// Region variables set by the platforms above (AWS Lambda/ECS set both AWS ones;
/// App Service `REGION_NAME`; Function Compute `FC_REGION`; Code Engine
/// `CE_REGION`; OCI Functions `OCI_RESOURCE_PRINCIPAL_REGION`). No platform
/// injects a zone variable.
const REGION_ENV: &[(CloudProvider, &str)] = &[
    (CloudProvider::Aws, "AWS_REGION"),
    (CloudProvider::Aws, "AWS_DEFAULT_REGION"),
    (CloudProvider::Azure, "REGION_NAME"),
    (CloudProvider::Alibaba, "FC_REGION"),
    (CloudProvider::Ibm, "CE_REGION"),
    (CloudProvider::Oracle, "OCI_RESOURCE_PRINCIPAL_REGION"),
];

/// Detects the provider from files under `root` and the `env` snapshot only.
pub fn detect_provider(root: &Path, env: &HashMap<String, String>) -> Detection {
    if let Some(detection) = detect_codespaces(env) {
        return detection;
    }
    if let Some(detection) = detect_from_dmi(root) {
        return detection;
    }
    if let Some(detection) = detect_from_hypervisor(root) {
        return detection;
    }
    if let Some(detection) = detect_from_platform_env(env) {
        return detection;
    }
    Detection { provider: CloudProvider::Localhost, evidence: describe_no_marker(root) }
}

fn detect_codespaces(env: &HashMap<String, String>) -> Option<Detection> {
    let evidence = if env.get("CODESPACES").map(String::as_str) == Some("true") {
        "env CODESPACES=true".to_string()
    } else {
        let name = env.get("CODESPACE_NAME").filter(|name| !name.is_empty())?;
        format!("env CODESPACE_NAME={name}")
    };
    Some(Detection { provider: CloudProvider::GithubCodespaces, evidence })
}

fn detect_from_dmi(root: &Path) -> Option<Detection> {
    let dmi_dir = under(root, DMI_DIR);
    for marker in DMI_MARKERS {
        let path = dmi_dir.join(marker.field);
        let Some(text) = read_marker(&path) else {
            continue;
        };
        let matched = match marker.pattern {
            Pattern::Exact(expected) => text == expected,
            Pattern::Prefix(prefix) => text.starts_with(prefix),
        };
        if matched {
            return Some(Detection {
                provider: marker.provider,
                evidence: format!("DMI {}={text:?} ({})", marker.field, path.display()),
            });
        }
    }
    detect_aws_product_uuid(&dmi_dir)
}

/// cloud-init ec2_identify_platform: product_uuid and product_serial both start
/// with "ec2" and are equal, ignoring case (both files are root-only on most hosts).
fn detect_aws_product_uuid(dmi_dir: &Path) -> Option<Detection> {
    let uuid = read_marker(&dmi_dir.join("product_uuid"))?;
    let serial = read_marker(&dmi_dir.join("product_serial"))?;
    let starts_ec2 = |text: &str| text.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("ec2"));
    (starts_ec2(&uuid) && uuid.eq_ignore_ascii_case(&serial)).then(|| Detection {
        provider: CloudProvider::Aws,
        evidence: format!("DMI product_uuid={uuid:?} equals product_serial and starts with ec2"),
    })
}

/// Older Xen-based EC2 instances: `/sys/hypervisor/uuid` starts with "ec2".
fn detect_from_hypervisor(root: &Path) -> Option<Detection> {
    let path = under(root, HYPERVISOR_UUID);
    let uuid = read_marker(&path)?;
    uuid.starts_with("ec2").then(|| Detection {
        provider: CloudProvider::Aws,
        evidence: format!("{}={uuid:?} starts with ec2", path.display()),
    })
}

fn detect_from_platform_env(env: &HashMap<String, String>) -> Option<Detection> {
    PLATFORM_ENV_MARKERS.iter().find_map(|(provider, variable)| {
        let value = env.get(*variable).filter(|value| !value.is_empty())?;
        Some(Detection { provider: *provider, evidence: format!("env {variable}={value}") })
    })
}

fn describe_no_marker(root: &Path) -> String {
    let dmi_dir = under(root, DMI_DIR);
    let dmi = if dmi_dir.is_dir() {
        let seen: Vec<String> = DMI_FIELDS_SHOWN
            .iter()
            .map(|field| match read_marker(&dmi_dir.join(field)) {
                Some(text) => format!("{field}={text:?}"),
                None => format!("{field} unreadable"),
            })
            .collect();
        format!("DMI {}", seen.join(", "))
    } else {
        format!("{} does not exist (no DMI exposed)", dmi_dir.display())
    };
    let hypervisor = under(root, HYPERVISOR_UUID);
    let hypervisor = match read_marker(&hypervisor) {
        Some(uuid) => format!("{}={uuid:?}", hypervisor.display()),
        None => format!("{} absent", hypervisor.display()),
    };
    format!("no cloud marker matched: {dmi}; {hypervisor}; no cloud environment variable set")
}

/// Provider plus region and zone. The metadata service is asked only when
/// `config.metadata_lookup` is true and something is still unknown.
pub fn identify(config: &MachineConfig) -> CloudIdentity {
    identify_with(config, |provider| metadata::lookup(provider, metadata::LOOKUP_BUDGET))
}

/// `identify` with the metadata lookup injected, so tests can prove it is
/// never called unless opted in.
pub fn identify_with(
    config: &MachineConfig,
    lookup: impl FnOnce(CloudProvider) -> Result<Placement, metadata::MetadataError>,
) -> CloudIdentity {
    let detection = detect_provider(&config.root, &config.env);
    let mut region = region_without_network(config, detection.provider);
    let mut zone = zone_without_network(config, detection.provider);
    let needs_lookup = region.0.reason().is_some() || zone.0.reason().is_some();
    if config.metadata_lookup && needs_lookup {
        apply_lookup(lookup(detection.provider), &mut region, &mut zone);
    }
    CloudIdentity {
        provider: detection.provider,
        evidence: detection.evidence,
        placement_evidence: format!("region: {}; zone: {}", region.1, zone.1),
        region: region.0,
        zone: zone.0,
    }
}

type Placed = (Fact<String>, String);

fn apply_lookup(result: Result<Placement, metadata::MetadataError>, region: &mut Placed, zone: &mut Placed) {
    match result {
        Ok(placement) => {
            fill_from_metadata(region, placement.region, &placement.source);
            fill_from_metadata(zone, placement.zone, &placement.source);
        }
        Err(error) => {
            for slot in [region, zone] {
                if let Fact::Unavailable(reason) = &slot.0 {
                    slot.0 = Fact::Unavailable(format!("{reason}; metadata lookup failed: {error}"));
                }
            }
        }
    }
}

fn fill_from_metadata(slot: &mut Placed, found: Option<String>, source: &str) {
    if slot.0.is_value() {
        return;
    }
    if let Some(value) = found {
        *slot = (Fact::Value(value), format!("metadata service {source}"));
    }
}

fn region_without_network(config: &MachineConfig, provider: CloudProvider) -> Placed {
    if let Some(region) = config.region.as_ref().filter(|r| !r.is_empty()) {
        return (Fact::Value(region.clone()), "BARDO_REGION".to_string());
    }
    let from_env = REGION_ENV.iter().filter(|(owner, _)| *owner == provider).find_map(|(_, variable)| {
        let value = config.env.get(*variable).filter(|v| !v.is_empty())?;
        Some((Fact::Value(value.clone()), format!("env {variable}")))
    });
    from_env.unwrap_or_else(|| {
        let reason = format!(
            "no region marker for {} without the metadata service; set BARDO_REGION{}",
            provider.label(),
            lookup_hint(config)
        );
        (Fact::Unavailable(reason), "none".to_string())
    })
}

fn zone_without_network(config: &MachineConfig, provider: CloudProvider) -> Placed {
    if let Some(zone) = config.zone.as_ref().filter(|z| !z.is_empty()) {
        return (Fact::Value(zone.clone()), "BARDO_ZONE".to_string());
    }
    let reason = format!(
        "no zone marker for {} without the metadata service; set BARDO_ZONE{}",
        provider.label(),
        lookup_hint(config)
    );
    (Fact::Unavailable(reason), "none".to_string())
}

fn lookup_hint(config: &MachineConfig) -> &'static str {
    if config.metadata_lookup {
        ""
    } else {
        " (metadata lookup is off)"
    }
}
