//! The machine facts of the latest `MachineSampler` sample as gauges.

use bardo_machine::MachineSnapshot;

use super::{Labels, Scrape};

pub(super) fn machine_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    cpu_metrics(scrape, machine);
    let temperatures = machine.temperatures.value().map(|zones| {
        zones
            .iter()
            .filter_map(|zone| {
                let labels = vec![
                    ("source", zone.source.to_owned()),
                    ("zone", zone.zone.clone()),
                    ("kind", zone.kind.clone()),
                ];
                zone.celsius.value().map(|celsius| (labels, *celsius))
            })
            .collect::<Vec<_>>()
    });
    match temperatures {
        Some(zones) => scrape.gauges("bardo_temperature_celsius", "Temperature per heat zone", zones),
        None => scrape.unavailable.push("temperatures"),
    }
    power_metrics(scrape, machine);
    gpu_metrics(scrape, machine);
    memory_metrics(scrape, machine);
    network_metrics(scrape, machine);
    let cloud = &machine.cloud;
    let labels = vec![
        ("provider", cloud.provider.label().to_owned()),
        ("region", cloud.region.value().cloned().unwrap_or_default()),
        ("zone", cloud.zone.value().cloned().unwrap_or_default()),
    ];
    scrape.gauges("bardo_cloud_info", "Cloud provider, region and zone (1)", [(labels, 1.0)]);
    scrape.gauge(
        "bardo_machine_sample_cost_seconds",
        "CPU time of the last sample",
        machine.sample_cost_micros as f64 / 1e6,
    );
}

fn cpu_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    let Some(cpu) = machine.cpu.value() else {
        return scrape.unavailable.push("cpu");
    };
    scrape.fact(
        "bardo_cpu_usage_percent",
        "CPU usage over all cores",
        "cpu.usage_percent",
        &cpu.usage_percent,
    );
    scrape.fact(
        "bardo_cpu_logical_cores",
        "Logical cores",
        "cpu.logical_cores",
        &cpu.logical_cores.clone().map(|n| n as u32),
    );
    scrape.fact(
        "bardo_cpu_physical_cores",
        "Physical cores",
        "cpu.physical_cores",
        &cpu.physical_cores.clone().map(|n| n as u32),
    );
    let per_core = |value: fn(&bardo_machine::cpu::CoreSample) -> Option<f64>| {
        cpu.cores
            .iter()
            .filter_map(move |core| value(core).map(|v| (vec![("core", core.index.to_string())], v)))
    };
    let usage = per_core(|core| core.usage_percent.value().map(|v| f64::from(*v)));
    scrape.gauges("bardo_cpu_core_usage_percent", "CPU usage per core", usage.collect::<Vec<_>>());
    let frequency = per_core(|core| core.frequency_mhz.value().map(|mhz| mhz * 1e6));
    scrape.gauges("bardo_cpu_core_frequency_hertz", "Frequency per core", frequency.collect::<Vec<_>>());
    scrape.fact("bardo_gflops", "GFLOPS from the startup micro-benchmark", "gflops", &machine.gflops);
    scrape.fact(
        "bardo_gflops_per_watt",
        "GFLOPS per watt of package power",
        "gflops_per_watt",
        &machine.gflops_per_watt,
    );
}

fn power_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    let power = &machine.power;
    scrape.fact(
        "bardo_power_package_watts",
        "Package power (RAPL)",
        "power.package_watts",
        &power.package_watts,
    );
    scrape.fact(
        "bardo_power_nominal_watts",
        "Nominal power the platform states",
        "power.nominal_watts",
        &power.nominal_watts,
    );
    if let Some(zones) = power.zones.value() {
        let watts = zones.iter().filter_map(|zone| {
            zone.watts
                .value()
                .map(|watts| (vec![("zone", zone.id.clone()), ("name", zone.name.clone())], *watts))
        });
        scrape.gauges("bardo_power_zone_watts", "Power per powercap zone", watts.collect::<Vec<_>>());
    }
}

fn gpu_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    let Some(gpus) = machine.gpus.value() else {
        return scrape.unavailable.push("gpus");
    };
    let each = |value: fn(&bardo_machine::gpu::GpuDevice) -> Option<f64>| -> Vec<(Labels, f64)> {
        gpus.iter().filter_map(|gpu| value(gpu).map(|v| (vec![("gpu", gpu.index.to_string())], v))).collect()
    };
    let temperature = each(|gpu| gpu.temperature_celsius.value().map(|c| f64::from(*c)));
    scrape.gauges("bardo_gpu_temperature_celsius", "GPU temperature", temperature);
    scrape.gauges("bardo_gpu_power_watts", "GPU power draw", each(|gpu| gpu.power_watts.value().copied()));
    let clock = each(|gpu| gpu.graphics_clock_mhz.value().map(|mhz| f64::from(*mhz) * 1e6));
    scrape.gauges("bardo_gpu_graphics_clock_hertz", "GPU graphics clock", clock);
    let utilization = each(|gpu| gpu.utilization_percent.value().map(|p| f64::from(*p)));
    scrape.gauges("bardo_gpu_utilization_percent", "GPU utilization", utilization);
    scrape.gauges("bardo_gpu_cores", "GPU cores", each(|gpu| gpu.cores.value().map(|n| f64::from(*n))));
}

fn memory_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    let Some(memory) = machine.memory.value() else {
        return scrape.unavailable.push("memory");
    };
    let as_f64 = |fact: &bardo_machine::Fact<u64>| fact.clone().map(|bytes| bytes as f64);
    scrape.fact(
        "bardo_memory_total_bytes",
        "Machine memory",
        "memory.total_bytes",
        &as_f64(&memory.total_bytes),
    );
    scrape.fact(
        "bardo_memory_used_bytes",
        "Machine memory in use",
        "memory.used_bytes",
        &as_f64(&memory.used_bytes),
    );
    let available = as_f64(&memory.available_bytes);
    scrape.fact(
        "bardo_memory_available_bytes",
        "Machine memory available",
        "memory.available_bytes",
        &available,
    );
    let rss = as_f64(&memory.process_rss_bytes);
    scrape.fact(
        "bardo_process_resident_memory_bytes",
        "This process's RSS",
        "memory.process_rss_bytes",
        &rss,
    );
}

fn network_metrics(scrape: &mut Scrape, machine: &MachineSnapshot) {
    let Some(interfaces) = machine.network.value() else {
        return scrape.unavailable.push("network");
    };
    let labels = |name: &str| vec![("interface", name.to_owned())];
    let received = interfaces.iter().map(|i| (labels(&i.name), i.received_bytes));
    scrape.counters(
        "bardo_network_received_bytes",
        "Bytes received per interface",
        received.collect::<Vec<_>>(),
    );
    let sent = interfaces.iter().map(|i| (labels(&i.name), i.transmitted_bytes));
    scrape.counters("bardo_network_transmitted_bytes", "Bytes sent per interface", sent.collect::<Vec<_>>());
    let rate_in =
        interfaces.iter().filter_map(|i| i.received_bytes_per_second.value().map(|r| (labels(&i.name), *r)));
    scrape.gauges("bardo_network_receive_rate_bytes_per_second", "Receive rate", rate_in.collect::<Vec<_>>());
    let rate_out = interfaces
        .iter()
        .filter_map(|i| i.transmitted_bytes_per_second.value().map(|r| (labels(&i.name), *r)));
    scrape.gauges(
        "bardo_network_transmit_rate_bytes_per_second",
        "Transmit rate",
        rate_out.collect::<Vec<_>>(),
    );
}
