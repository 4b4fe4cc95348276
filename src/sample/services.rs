//! The `Services` sheet: the services catalogue, grouped by practice and sub-practice.
//!
//! In: nothing but the static table below. Out: rows streamed into a [`Sink`]. Practice and
//! sub-practice are written only on the first row of each group and left blank below it, as in
//! the real export, so the loader's forward-fill is exercised. The service lines are invented.

use super::sink::{Cell, Sink};
use crate::error::Result;

/// `Services` sheet name.
pub const SHEET: &str = "Services";
/// `Services` headers.
pub const HEADERS: [&str; 3] = ["Practice", "Sub-Practice", "Services"];

/// One sub-practice and its services.
pub type SubPractice = (&'static str, &'static [&'static str]);

/// The Services sheet: `(practice, [(sub-practice, [services])])`.
pub const SERVICES: &[(&str, &[SubPractice])] = &[
    (
        "Infrastructure Advisory",
        &[
            (
                "Compute, HCI and Composable",
                &[
                    "Compute estate assessment",
                    "Firmware and driver Health Check of the installed base",
                    "Composable infrastructure design",
                    "Server consolidation planning",
                ],
            ),
            (
                "Storage, Backup and Recovery",
                &[
                    "Storage Performance analysis and tuning",
                    "Array data Migration planning",
                    "Backup Health Check",
                    "Storage Rebalance after expansion",
                    "Disaster recovery design",
                ],
            ),
            (
                "Private Cloud Platforms",
                &[
                    "Private cloud readiness review",
                    "Virtualisation platform Upgrade",
                    "Hypervisor Migration services",
                    "Cluster Install & Startup",
                ],
            ),
            (
                "Operating Systems",
                &[
                    "Linux deployment and patch service",
                    "OS Upgrade and hardening",
                    "Legacy Unix Migration assessment",
                ],
            ),
            (
                "Data Center Facilities",
                &[
                    "Power and cooling assessment",
                    "Rack and cabling design",
                    "Data center relocation and Migration",
                    "Facility Health Check",
                    "Asset disposal planning",
                ],
            ),
        ],
    ),
    (
        "Platform Engineering",
        &[
            (
                "High Performance Computing",
                &[
                    "HPC cluster Install & Startup",
                    "Scheduler configuration",
                    "HPC Performance benchmarking",
                ],
            ),
            (
                "Automation & Infrastructure as Code",
                &[
                    ">>>>>> Infrastructure as Code <<<<<<",
                    "Pipeline design workshop",
                    "Configuration management rollout",
                    "Self-service catalogue build",
                ],
            ),
            (
                "Containers & MLOps",
                &[
                    "Container platform Install & Startup",
                    "Kubernetes Upgrade service",
                    "MLOps pipeline enablement",
                ],
            ),
            (
                "Application Modernisation",
                &[
                    "Application portfolio assessment",
                    "Re-platform and Migration factory",
                    "Middleware Performance analysis",
                    "Database Upgrade and Migration",
                    "Web application development",
                ],
            ),
            (
                "Networking",
                &[
                    "Campus WLAN site survey",
                    "Wireless Install & Startup",
                    "Switch firmware Upgrade",
                    "Network Health Check",
                    "SD-WAN Migration",
                ],
            ),
            (
                "Security",
                &[
                    "Zero-trust architecture review",
                    "Firewall policy Migration",
                    "Identity platform Install & Startup",
                    "Security posture Health Check",
                    "Key management Upgrade",
                ],
            ),
        ],
    ),
    (
        "Data & AI",
        &[
            (
                "Data Engineering",
                &[
                    "Design & Architecture",
                    "Data pipeline implementation",
                    "Data platform Migration",
                ],
            ),
            (
                "Analytics & Visualisation",
                &[
                    "Design & Architecture",
                    "Dashboard build",
                    "Query Performance tuning",
                ],
            ),
            (
                "Applied AI",
                &[
                    "Use-case discovery workshop",
                    "Model deployment service",
                    "Inference platform Install & Startup",
                    "AI infrastructure Health Check",
                ],
            ),
            (
                "Edge & IoT",
                &[
                    "Sensor gateway integration",
                    "Edge platform Upgrade",
                    "Edge analytics design",
                ],
            ),
        ],
    ),
];

/// Writes the `Services` catalogue; practice and sub-practice only on the first row of each group.
/// Returns the row count.
pub fn write(sink: &mut dyn Sink) -> Result<usize> {
    sink.begin(SHEET, &HEADERS)?;
    let mut n = 0;
    for (practice, subs) in SERVICES {
        for (sub, services) in *subs {
            for (i, service) in services.iter().enumerate() {
                let (p, s) = if i == 0 {
                    (Cell::Str(practice), Cell::Str(sub))
                } else {
                    (Cell::Blank, Cell::Blank)
                };
                sink.row(&[p, s, Cell::Str(service)])?;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_sheet_has_about_sixty_rows() {
        let n: usize = SERVICES
            .iter()
            .flat_map(|(_, subs)| subs.iter())
            .map(|(_, s)| s.len())
            .sum();
        assert!((50..=70).contains(&n), "{n}");
    }
}
