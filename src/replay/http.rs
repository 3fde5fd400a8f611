//! A tiny blocking HTTP/1.1 GET client for an instance's `/status` (plain HTTP on loopback or a
//! private network): enough for one JSON document, without pulling in an HTTP client crate.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context as _;

/// Largest response accepted; `/status` is a few KiB.
const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// `http://host[:port][/prefix]` split into the parts a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub authority: String,
    pub path_prefix: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> anyhow::Result<HttpUrl> {
        let rest = if let Some(rest) = url.strip_prefix("http://") {
            rest
        } else if url.starts_with("https://") {
            anyhow::bail!("{url}: https is not supported; /status is plain HTTP (use http://)");
        } else if url.contains("://") {
            anyhow::bail!("{url}: not an http:// URL");
        } else {
            url // `host:port` alone is accepted too
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        anyhow::ensure!(!authority.is_empty(), "{url}: no host");
        Ok(HttpUrl { authority: authority.to_string(), path_prefix: path.trim_end_matches('/').to_string() })
    }

    fn socket_address(&self) -> String {
        // A bracketed IPv6 literal ends with `]`; otherwise a colon means a port is present.
        let has_port = self.authority.rsplit_once(':').is_some_and(|(_, port)| !port.ends_with(']'));
        if has_port {
            self.authority.clone()
        } else {
            format!("{}:80", self.authority)
        }
    }
}

/// GETs `path` (appended to the URL's prefix); returns the status code and the body.
/// `connect` bounds the connection, `answer` each read and write after it.
pub fn get(url: &HttpUrl, path: &str, connect: Duration, answer: Duration) -> anyhow::Result<(u16, String)> {
    let address = url.socket_address();
    let mut stream = self::connect(&address, connect)?;
    stream.set_read_timeout(Some(answer))?;
    stream.set_write_timeout(Some(answer))?;
    let request = format!(
        "GET {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
         User-Agent: bardo-replay\r\nConnection: close\r\n\r\n",
        url.path_prefix, url.authority
    );
    stream.write_all(request.as_bytes()).with_context(|| format!("sending the request to {address}"))?;
    let mut response = Vec::new();
    stream
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut response)
        .with_context(|| format!("reading the response from {address}"))?;
    parse_response(&response).with_context(|| format!("the response from {address}"))
}

fn connect(address: &str, timeout: Duration) -> anyhow::Result<TcpStream> {
    let mut last_error = None;
    let candidates = address.to_socket_addrs().with_context(|| format!("resolving {address}"))?;
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    match last_error {
        Some(error) => Err(error).with_context(|| format!("connecting to {address}")),
        None => anyhow::bail!("{address} resolved to no address"),
    }
}

/// Splits status line, headers and body; undoes chunked transfer encoding.
pub fn parse_response(response: &[u8]) -> anyhow::Result<(u16, String)> {
    let split = find(response, b"\r\n\r\n").context("no end of headers")?;
    let head = std::str::from_utf8(&response[..split]).context("headers are not UTF-8")?;
    let mut body = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .with_context(|| format!("not an HTTP status line: {status_line:?}"))?;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            let length: usize = value.parse().context("bad content-length")?;
            body = body.get(..length).context("body shorter than content-length")?;
        }
    }
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Ok((status, String::from_utf8(body).context("body is not UTF-8")?))
}

fn dechunk(mut body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").context("truncated chunk size")?;
        let size_text = std::str::from_utf8(&body[..line_end])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).context("bad chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).context("truncated chunk")?);
        body = body.get(size + 2..).context("truncated chunk end")?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let url = HttpUrl::parse("http://127.0.0.1:9999/").unwrap();
        assert_eq!(url.authority, "127.0.0.1:9999");
        assert_eq!(url.path_prefix, "");
        assert_eq!(url.socket_address(), "127.0.0.1:9999");
        let url = HttpUrl::parse("localhost/api").unwrap();
        assert_eq!(url.socket_address(), "localhost:80");
        assert_eq!(url.path_prefix, "/api");
        assert_eq!(HttpUrl::parse("[::1]").unwrap().socket_address(), "[::1]:80");
        assert!(HttpUrl::parse("https://x").is_err());
        assert!(HttpUrl::parse("ftp://x").is_err());
    }

    #[test]
    fn responses() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}extra";
        assert_eq!(parse_response(plain).unwrap(), (200, "{}".to_string()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=1\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (200, "{\"a\":1}".to_string()));
        assert!(parse_response(b"garbage").is_err());
    }
}
