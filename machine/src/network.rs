//! Network bytes in/out per interface, and rates from two samples.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use sysinfo::Networks;

use super::fact::Fact;

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceTraffic {
    pub name: String,
    /// Totals since the interface came up.
    pub received_bytes: u64,
    pub transmitted_bytes: u64,
    pub received_bytes_per_second: Fact<f64>,
    pub transmitted_bytes_per_second: Fact<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CounterReading {
    pub bytes: u64,
    pub at: Duration,
}

pub struct NetworkProbe {
    networks: Result<Networks, String>,
    previous: HashMap<String, (CounterReading, CounterReading)>,
}

impl NetworkProbe {
    pub fn new() -> Self {
        NetworkProbe {
            networks: Networks::new_with_refreshed_list().map_err(|error| error.to_string()),
            previous: HashMap::new(),
        }
    }

    /// `now` comes from the sampler's clock.
    pub fn sample(&mut self, now: Duration) -> Fact<Vec<InterfaceTraffic>> {
        let networks = match self.networks.as_mut() {
            Ok(networks) => networks,
            Err(reason) => return Fact::unavailable(format!("sysinfo Networks: {reason}")),
        };
        networks.refresh(true);
        let mut interfaces: Vec<InterfaceTraffic> = Vec::with_capacity(networks.len());
        for (name, data) in networks.iter() {
            let name = name.to_string_lossy().to_string();
            let received = CounterReading { bytes: data.total_received(), at: now };
            let transmitted = CounterReading { bytes: data.total_transmitted(), at: now };
            let previous = self.previous.insert(name.clone(), (received, transmitted));
            interfaces.push(InterfaceTraffic {
                received_bytes_per_second: bytes_per_second(previous.map(|p| p.0), received),
                transmitted_bytes_per_second: bytes_per_second(previous.map(|p| p.1), transmitted),
                name,
                received_bytes: received.bytes,
                transmitted_bytes: transmitted.bytes,
            });
        }
        interfaces.sort_by(|a, b| a.name.cmp(&b.name));
        Fact::Value(interfaces)
    }
}

impl Default for NetworkProbe {
    fn default() -> Self {
        NetworkProbe::new()
    }
}

pub fn bytes_per_second(previous: Option<CounterReading>, current: CounterReading) -> Fact<f64> {
    let Some(previous) = previous else {
        return Fact::unavailable("needs two samples");
    };
    let Some(elapsed) = current.at.checked_sub(previous.at).filter(|d| !d.is_zero()) else {
        return Fact::unavailable("no time elapsed between the two samples");
    };
    let Some(delta) = current.bytes.checked_sub(previous.bytes) else {
        return Fact::unavailable("counter went backwards (interface was reset)");
    };
    Fact::finite(delta as f64 / elapsed.as_secs_f64(), "bytes per second")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(bytes: u64, millis: u64) -> CounterReading {
        CounterReading { bytes, at: Duration::from_millis(millis) }
    }

    #[test]
    fn rate_is_byte_delta_over_time_delta() {
        let rate = bytes_per_second(Some(reading(1_000, 0)), reading(6_000, 500));
        assert_eq!(rate, Fact::Value(10_000.0));
    }

    #[test]
    fn first_sample_and_resets_are_unavailable() {
        assert_eq!(bytes_per_second(None, reading(1, 1)).reason(), Some("needs two samples"));
        let reset = bytes_per_second(Some(reading(10, 0)), reading(5, 1_000));
        assert!(reset.reason().is_some_and(|r| r.contains("backwards")));
    }
}
