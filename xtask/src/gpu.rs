//! Which backend the experiments are built for, decided before anything is compiled.
//!
//! The model binaries check the adapter properly at run time (see `data::backend`); this
//! cheaper look at the hardware only decides whether building wgpu (about 19 minutes on a
//! 2-core machine) is worth it. A machine without a GPU gets CPU-only builds.

use std::path::Path;

use data::BackendChoice;

/// PCI vendors of GPUs that wgpu or CUDA can drive (virtual and software adapters are not
/// on the list).
const GPU_VENDORS: [(&str, &str); 3] =
    [("0x10de", "NVIDIA"), ("0x1002", "AMD"), ("0x8086", "Intel")];

/// What the hardware probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuProbe {
    pub nvidia_driver: bool,
    /// Render nodes of real GPUs: (node, vendor name).
    pub render_nodes: Vec<(String, String)>,
    pub macos: bool,
}

impl GpuProbe {
    pub fn system() -> Self {
        let mut render_nodes = Vec::new();
        if let Ok(entries) = std::fs::read_dir("/sys/class/drm") {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if !name.starts_with("renderD") {
                    continue;
                }
                let vendor =
                    std::fs::read_to_string(entry.path().join("device/vendor")).unwrap_or_default();
                if let Some((_, vendor)) = GPU_VENDORS.iter().find(|(id, _)| vendor.trim() == *id) {
                    render_nodes.push((name, vendor.to_string()));
                }
            }
        }
        GpuProbe {
            nvidia_driver: Path::new("/proc/driver/nvidia/version").exists(),
            render_nodes,
            macos: cfg!(target_os = "macos"),
        }
    }

    pub fn has_gpu(&self) -> bool {
        self.nvidia_driver || !self.render_nodes.is_empty() || self.macos
    }

    fn describe(&self) -> String {
        if self.macos {
            return "macOS: Metal GPU".into();
        }
        let mut found: Vec<String> = self
            .render_nodes
            .iter()
            .map(|(node, vendor)| format!("{vendor} GPU at /dev/dri/{node}"))
            .collect();
        if self.nvidia_driver {
            found.push("NVIDIA driver loaded".into());
        }
        if found.is_empty() {
            "no NVIDIA driver and no GPU render node in /sys/class/drm".into()
        } else {
            found.join(", ")
        }
    }
}

/// The backend the experiments run on and the Cargo feature flags that build it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildPlan {
    /// Passed to the model binaries as `--backend`.
    pub backend: &'static str,
    /// Passed to `cargo run` for the model crates.
    pub cargo_flags: Vec<String>,
    pub reason: String,
}

pub fn plan(choice: BackendChoice, probe: &GpuProbe) -> BuildPlan {
    let cpu_only = || {
        vec![
            "--no-default-features".to_string(),
            "--features".into(),
            "flex".into(),
        ]
    };
    match choice {
        BackendChoice::Flex => BuildPlan {
            backend: "flex",
            cargo_flags: cpu_only(),
            reason: "flex: asked for with --backend flex; model crates built CPU-only".into(),
        },
        BackendChoice::Wgpu => BuildPlan {
            backend: "wgpu",
            cargo_flags: Vec::new(),
            reason: format!("wgpu: asked for with --backend wgpu ({})", probe.describe()),
        },
        BackendChoice::Cuda => BuildPlan {
            backend: "cuda",
            cargo_flags: vec!["--features".into(), "cuda".into()],
            reason: format!("cuda: asked for with --backend cuda ({})", probe.describe()),
        },
        BackendChoice::Auto if probe.has_gpu() => BuildPlan {
            backend: "auto",
            cargo_flags: Vec::new(),
            reason: format!(
                "auto: GPU found ({}); default build (wgpu + flex), each binary checks the adapter",
                probe.describe()
            ),
        },
        BackendChoice::Auto => BuildPlan {
            backend: "flex",
            cargo_flags: cpu_only(),
            reason: format!(
                "auto: no GPU ({}); model crates built CPU-only (--no-default-features --features flex) \
                 and run on flex",
                probe.describe()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_without_a_gpu_builds_cpu_only() {
        let probe = GpuProbe {
            nvidia_driver: false,
            render_nodes: Vec::new(),
            macos: false,
        };
        let plan = plan(BackendChoice::Auto, &probe);
        assert_eq!(plan.backend, "flex");
        assert_eq!(
            plan.cargo_flags,
            ["--no-default-features", "--features", "flex"]
        );
        assert!(plan.reason.contains("no GPU"), "{}", plan.reason);
    }

    #[test]
    fn auto_with_a_gpu_keeps_the_default_build() {
        let probe = GpuProbe {
            nvidia_driver: true,
            render_nodes: vec![("renderD128".into(), "NVIDIA".into())],
            macos: false,
        };
        let plan = plan(BackendChoice::Auto, &probe);
        assert_eq!(plan.backend, "auto");
        assert!(plan.cargo_flags.is_empty());
        assert!(
            plan.reason.contains("NVIDIA GPU at /dev/dri/renderD128"),
            "{}",
            plan.reason
        );
    }
}
