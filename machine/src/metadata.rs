//! Opt-in region/zone lookup from the provider's instance metadata service.
//!
//! Only `cloud::identify` calls this, and only when
//! `MachineConfig::metadata_lookup` is true: it opens plain HTTP connections
//! to link-local addresses, bounded by one overall 300 ms budget.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::cloud::CloudProvider;

pub const LOOKUP_BUDGET: Duration = Duration::from_millis(300);

const LINK_LOCAL: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254)), 80);
const ALIBABA: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(100, 100, 100, 200)), 80);
const TENCENT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 0, 23)), 80);
const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub region: Option<String>,
    pub zone: Option<String>,
    /// Endpoint that answered, for the evidence string.
    pub source: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("no metadata lookup implemented for {0}")]
    NotSupported(&'static str),
    #[error("{endpoint}: the {budget_ms} ms budget ran out")]
    OutOfTime { endpoint: String, budget_ms: u128 },
    #[error("{endpoint}: {source}")]
    Io { endpoint: String, source: std::io::Error },
    #[error("{endpoint}: HTTP status line {status:?}")]
    Status { endpoint: String, status: String },
    #[error("{endpoint}: malformed HTTP response")]
    Malformed { endpoint: String },
}

/// One HTTP/1.0 request to a metadata endpoint.
pub struct Request<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
}

/// Asks `provider`'s metadata service for region and zone within `budget`.
pub fn lookup(provider: CloudProvider, budget: Duration) -> Result<Placement, MetadataError> {
    let deadline = Instant::now() + budget;
    let no_headers: &[(&str, &str)] = &[];
    match provider {
        CloudProvider::Aws => lookup_aws(deadline),
        CloudProvider::Gcp => lookup_gcp(deadline),
        CloudProvider::Azure => region_and_zone(
            LINK_LOCAL,
            "169.254.169.254",
            &[("Metadata", "true")],
            (
                "/metadata/instance/compute/location?api-version=2021-02-01&format=text",
                "/metadata/instance/compute/zone?api-version=2021-02-01&format=text",
            ),
            deadline,
        ),
        CloudProvider::Alibaba => region_and_zone(
            ALIBABA,
            "100.100.100.200",
            no_headers,
            ("/latest/meta-data/region-id", "/latest/meta-data/zone-id"),
            deadline,
        ),
        CloudProvider::Tencent => region_and_zone(
            TENCENT,
            "metadata.tencentyun.com",
            no_headers,
            ("/latest/meta-data/placement/region", "/latest/meta-data/placement/zone"),
            deadline,
        ),
        CloudProvider::Oracle => region_and_zone(
            LINK_LOCAL,
            "169.254.169.254",
            &[("Authorization", "Bearer Oracle")],
            ("/opc/v2/instance/canonicalRegionName", "/opc/v2/instance/availabilityDomain"),
            deadline,
        ),
        CloudProvider::Ibm => Err(MetadataError::NotSupported(
            "IBM Cloud (its metadata service needs an instance identity token)",
        )),
        CloudProvider::Localhost | CloudProvider::GithubCodespaces => {
            Err(MetadataError::NotSupported(provider.label()))
        }
    }
}

/// AWS IMDSv2: a session token first, then the placement paths.
fn lookup_aws(deadline: Instant) -> Result<Placement, MetadataError> {
    let token_request = Request {
        method: "PUT",
        host: "169.254.169.254",
        path: "/latest/api/token",
        headers: &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
    };
    let token = http_request(LINK_LOCAL, &token_request, deadline)?;
    region_and_zone(
        LINK_LOCAL,
        "169.254.169.254",
        &[("X-aws-ec2-metadata-token", token.trim())],
        ("/latest/meta-data/placement/region", "/latest/meta-data/placement/availability-zone"),
        deadline,
    )
}

/// GCP answers `projects/<n>/zones/<zone>`; a zone is `<region>-<letter>`.
fn lookup_gcp(deadline: Instant) -> Result<Placement, MetadataError> {
    let request = Request {
        method: "GET",
        host: "metadata.google.internal",
        path: "/computeMetadata/v1/instance/zone",
        headers: &[("Metadata-Flavor", "Google")],
    };
    let answer = http_request(LINK_LOCAL, &request, deadline)?;
    let zone = answer.trim().rsplit('/').next().unwrap_or_default().to_string();
    let region = zone.rsplit_once('-').map(|(region, _)| region.to_string());
    Ok(Placement {
        region,
        zone: Some(zone).filter(|zone| !zone.is_empty()),
        source: format!("http://{LINK_LOCAL}{}", request.path),
    })
}

/// GETs a region path (required) and a zone path (optional) from one service.
fn region_and_zone(
    address: SocketAddr,
    host: &str,
    headers: &[(&str, &str)],
    (region_path, zone_path): (&str, &str),
    deadline: Instant,
) -> Result<Placement, MetadataError> {
    let get = |path| Request { method: "GET", host, path, headers };
    let region = http_request(address, &get(region_path), deadline)?;
    let zone = http_request(address, &get(zone_path), deadline).ok();
    let non_empty = |text: String| Some(text.trim().to_string()).filter(|t| !t.is_empty());
    Ok(Placement {
        region: non_empty(region),
        zone: zone.and_then(non_empty),
        source: format!("http://{host}"),
    })
}

/// Sends one request and returns the body of a 200 answer, all before `deadline`.
pub fn http_request(
    address: SocketAddr,
    request: &Request,
    deadline: Instant,
) -> Result<String, MetadataError> {
    let endpoint = format!("{} http://{address}{}", request.method, request.path);
    let io_error = |source| MetadataError::Io { endpoint: endpoint.clone(), source };
    let remaining = remaining_time(deadline, &endpoint)?;
    let mut stream = TcpStream::connect_timeout(&address, remaining).map_err(io_error)?;
    let remaining = remaining_time(deadline, &endpoint)?;
    stream.set_read_timeout(Some(remaining)).map_err(io_error)?;
    stream.set_write_timeout(Some(remaining)).map_err(io_error)?;
    stream.write_all(render_request(request).as_bytes()).map_err(io_error)?;
    let mut response = String::new();
    stream.take(MAX_RESPONSE_BYTES).read_to_string(&mut response).map_err(io_error)?;
    parse_response(&response, &endpoint)
}

fn remaining_time(deadline: Instant, endpoint: &str) -> Result<Duration, MetadataError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(MetadataError::OutOfTime {
            endpoint: endpoint.to_string(),
            budget_ms: LOOKUP_BUDGET.as_millis(),
        });
    }
    Ok(remaining)
}

fn render_request(request: &Request) -> String {
    let mut text = format!(
        "{} {} HTTP/1.0\r\nHost: {}\r\nConnection: close\r\n",
        request.method, request.path, request.host
    );
    for (name, value) in request.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if request.method == "PUT" {
        text.push_str("Content-Length: 0\r\n");
    }
    text.push_str("\r\n");
    text
}

fn parse_response(response: &str, endpoint: &str) -> Result<String, MetadataError> {
    let malformed = || MetadataError::Malformed { endpoint: endpoint.to_string() };
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(malformed)?;
    let status = head.lines().next().ok_or_else(malformed)?;
    let code = status.split_whitespace().nth(1).ok_or_else(malformed)?;
    if code != "200" {
        return Err(MetadataError::Status { endpoint: endpoint.to_string(), status: status.to_string() });
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves one canned answer on 127.0.0.1 and returns what the client sent.
    fn serve_once(answer: &'static str) -> (SocketAddr, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("local addr");
        let server = std::thread::spawn(move || {
            let (mut connection, _) = listener.accept().expect("accept");
            let mut buffer = [0_u8; 2048];
            let read = connection.read(&mut buffer).expect("read request");
            connection.write_all(answer.as_bytes()).expect("write");
            String::from_utf8_lossy(&buffer[..read]).to_string()
        });
        (address, server)
    }

    #[test]
    fn http_request_sends_headers_and_returns_the_body() {
        let (address, server) = serve_once("HTTP/1.0 200 OK\r\n\r\nus-east-1");
        let request = Request {
            method: "GET",
            host: "example.internal",
            path: "/region",
            headers: &[("Metadata", "true")],
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let body = http_request(address, &request, deadline).expect("answer");
        let sent = server.join().expect("server thread");
        assert_eq!(body, "us-east-1");
        assert!(sent.starts_with("GET /region HTTP/1.0\r\n"), "{sent}");
        assert!(sent.contains("Host: example.internal\r\n"), "{sent}");
        assert!(sent.contains("Metadata: true\r\n"), "{sent}");
    }

    #[test]
    fn non_200_answer_is_an_error_with_the_status_line() {
        let (address, server) = serve_once("HTTP/1.0 404 Not Found\r\n\r\n");
        let request = Request { method: "GET", host: "h", path: "/missing", headers: &[] };
        let deadline = Instant::now() + Duration::from_secs(5);
        let error = http_request(address, &request, deadline).unwrap_err();
        server.join().expect("server thread");
        assert!(error.to_string().contains("404 Not Found"), "{error}");
    }

    #[test]
    fn an_expired_deadline_never_connects() {
        let request = Request { method: "GET", host: "h", path: "/", headers: &[] };
        let error = http_request(LINK_LOCAL, &request, Instant::now()).unwrap_err();
        assert!(matches!(error, MetadataError::OutOfTime { .. }), "{error}");
    }
}
