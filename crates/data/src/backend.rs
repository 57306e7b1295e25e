//! Choosing the `Device` a run computes on, from the backends compiled in (Cargo features
//! `wgpu`, `flex`, `cuda`) and the user's `--backend` choice.
//!
//! Model code only ever sees a `&Device`. Selection checks the hardware before any work is
//! put on it: on a machine without a GPU, wgpu falls back to a software rasteriser
//! (llvmpipe/lavapipe through GLES or Vulkan), where small tensor sums work and a training
//! loop later panics deep inside wgpu-hal. Such an adapter counts as "no GPU".

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

/// The `--backend` choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// A hardware GPU when there is one (CUDA, then wgpu), else `flex`.
    #[default]
    Auto,
    /// Burn's wgpu backend on a hardware GPU adapter (Vulkan, Metal, DX12).
    Wgpu,
    /// Burn's pure-Rust CPU backend.
    Flex,
    /// Burn's CUDA backend on an NVIDIA GPU.
    Cuda,
}

/// A backend that actually runs the computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Wgpu,
    Flex,
    Cuda,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Wgpu => "wgpu",
            Backend::Flex => "flex",
            Backend::Cuda => "cuda",
        }
    }

    /// Whether this binary was built with the backend's Cargo feature.
    pub fn compiled_in(self) -> bool {
        match self {
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }
}

/// The kind of a graphics adapter, as wgpu reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterKind {
    DiscreteGpu,
    IntegratedGpu,
    VirtualGpu,
    /// A software rasteriser such as llvmpipe or lavapipe.
    Cpu,
    Other,
}

/// What selection needs to know of one adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    pub name: String,
    pub kind: AdapterKind,
    /// The graphics API, e.g. "Vulkan" or "Gl".
    pub api: String,
}

impl AdapterSummary {
    pub fn is_hardware(&self) -> bool {
        matches!(
            self.kind,
            AdapterKind::DiscreteGpu | AdapterKind::IntegratedGpu | AdapterKind::VirtualGpu
        )
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({:?}, {})", self.name, self.kind, self.api)
    }
}

/// The device a run uses, and why it was chosen.
#[derive(Clone, Debug)]
pub struct SelectedDevice {
    pub backend: Backend,
    /// Without autodiff: for sampling, evaluation and gradient-free training (RBMs).
    pub device: Device,
    /// One sentence for the log, e.g. "flex: no hardware GPU adapter (found llvmpipe ...)".
    pub reason: String,
}

impl SelectedDevice {
    /// The same device with autodiff, for training with backpropagation.
    pub fn autodiff(&self) -> Device {
        self.device.clone().autodiff()
    }
}

/// Why no device could be had. The message always names a command that works.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "the `{backend}` backend is not compiled into this binary (features: {compiled}).\n\
         Rebuild with it, e.g. `cargo run --release --features {backend} -p <crate> -- ...`, \
         or run on the CPU: `--backend flex`"
    )]
    NotCompiled {
        backend: &'static str,
        compiled: String,
    },
    #[error(
        "--backend {backend}: no hardware GPU found ({detail}).\n\
         Run on the CPU instead: `--backend flex` (or `--backend auto`). \
         A CPU-only build is quicker: `cargo run --release --no-default-features --features flex -p <crate> -- ...`"
    )]
    NoGpu {
        backend: &'static str,
        detail: String,
    },
}

/// The backends compiled into this binary, for messages.
pub fn compiled_backends() -> String {
    let names: Vec<&str> = [Backend::Wgpu, Backend::Flex, Backend::Cuda]
        .into_iter()
        .filter(|b| b.compiled_in())
        .map(Backend::name)
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Picks the device for `choice` on this machine.
pub fn select_device(choice: BackendChoice) -> Result<SelectedDevice, BackendError> {
    decide(choice, &Probe::system())
}

/// What the machine offers, gathered before any work is put on a device.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// wgpu's adapters; `None` when wgpu is not compiled in.
    pub adapters: Option<Vec<AdapterSummary>>,
    /// Whether CUDA reports a device; `None` when CUDA is not compiled in.
    pub cuda: Option<bool>,
}

impl Probe {
    pub fn system() -> Self {
        Probe {
            adapters: wgpu_adapters(),
            cuda: cuda_available(),
        }
    }
}

/// The decision, separate from the probing so it can be tested on any machine.
pub fn decide(choice: BackendChoice, probe: &Probe) -> Result<SelectedDevice, BackendError> {
    let not_compiled = |backend: Backend| BackendError::NotCompiled {
        backend: backend.name(),
        compiled: compiled_backends(),
    };
    let describe = |adapters: &[AdapterSummary]| {
        if adapters.is_empty() {
            "wgpu lists no adapter".to_string()
        } else {
            let list: Vec<String> = adapters.iter().map(ToString::to_string).collect();
            format!("wgpu lists only software adapters: {}", list.join("; "))
        }
    };
    let hardware = |adapters: &[AdapterSummary]| adapters.iter().find(|a| a.is_hardware()).cloned();

    match choice {
        BackendChoice::Flex => {
            flex_device("asked for with --backend flex").ok_or(not_compiled(Backend::Flex))
        }
        BackendChoice::Cuda => match probe.cuda {
            None => Err(not_compiled(Backend::Cuda)),
            Some(false) => Err(BackendError::NoGpu {
                backend: "cuda",
                detail: "no NVIDIA driver or CUDA device".into(),
            }),
            Some(true) => Ok(cuda_device("asked for with --backend cuda")),
        },
        BackendChoice::Wgpu => match &probe.adapters {
            None => Err(not_compiled(Backend::Wgpu)),
            Some(adapters) => match hardware(adapters) {
                Some(adapter) => Ok(wgpu_device(&adapter, "asked for with --backend wgpu")),
                None => Err(BackendError::NoGpu {
                    backend: "wgpu",
                    detail: describe(adapters),
                }),
            },
        },
        BackendChoice::Auto => {
            if probe.cuda == Some(true) {
                return Ok(cuda_device("auto: an NVIDIA GPU is present"));
            }
            if let Some(adapter) = probe.adapters.as_deref().and_then(hardware) {
                return Ok(wgpu_device(&adapter, "auto: hardware GPU adapter found"));
            }
            let why = match &probe.adapters {
                None => "auto: wgpu is not compiled in".to_string(),
                Some(adapters) => format!("auto: no hardware GPU ({})", describe(adapters)),
            };
            flex_device(&why).ok_or(BackendError::NotCompiled {
                backend: "flex",
                compiled: compiled_backends(),
            })
        }
    }
}

#[cfg(feature = "flex")]
fn flex_device(why: &str) -> Option<SelectedDevice> {
    Some(SelectedDevice {
        backend: Backend::Flex,
        device: Device::flex(),
        reason: format!("flex (pure-Rust CPU): {why}"),
    })
}

#[cfg(not(feature = "flex"))]
fn flex_device(_why: &str) -> Option<SelectedDevice> {
    None
}

#[cfg(feature = "wgpu")]
fn wgpu_device(adapter: &AdapterSummary, why: &str) -> SelectedDevice {
    use burn::tensor::DeviceKind;
    let kind = match adapter.kind {
        AdapterKind::IntegratedGpu => DeviceKind::IntegratedGpu(0),
        AdapterKind::VirtualGpu => DeviceKind::VirtualGpu(0),
        _ => DeviceKind::DiscreteGpu(0),
    };
    SelectedDevice {
        backend: Backend::Wgpu,
        device: Device::wgpu(kind),
        reason: format!("wgpu on {adapter}: {why}"),
    }
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device(_adapter: &AdapterSummary, _why: &str) -> SelectedDevice {
    unreachable!("a probe without wgpu lists no adapters")
}

#[cfg(feature = "cuda")]
fn cuda_device(why: &str) -> SelectedDevice {
    SelectedDevice {
        backend: Backend::Cuda,
        device: Device::cuda(0),
        reason: format!("cuda device 0: {why}"),
    }
}

#[cfg(not(feature = "cuda"))]
fn cuda_device(_why: &str) -> SelectedDevice {
    unreachable!("a probe without cuda reports no CUDA device")
}

/// wgpu's adapters on every graphics API, without opening a device on any of them.
#[cfg(feature = "wgpu")]
fn wgpu_adapters() -> Option<Vec<AdapterSummary>> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters =
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    Some(
        adapters
            .iter()
            .map(|adapter| {
                let info = adapter.get_info();
                AdapterSummary {
                    kind: match info.device_type {
                        wgpu::DeviceType::DiscreteGpu => AdapterKind::DiscreteGpu,
                        wgpu::DeviceType::IntegratedGpu => AdapterKind::IntegratedGpu,
                        wgpu::DeviceType::VirtualGpu => AdapterKind::VirtualGpu,
                        wgpu::DeviceType::Cpu => AdapterKind::Cpu,
                        wgpu::DeviceType::Other => AdapterKind::Other,
                    },
                    name: info.name,
                    api: format!("{:?}", info.backend),
                }
            })
            .collect(),
    )
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_adapters() -> Option<Vec<AdapterSummary>> {
    None
}

/// Whether an NVIDIA driver is loaded and CUDA lists a device. The driver check comes first
/// because initialising CUDA without one panics inside the runtime.
#[cfg(feature = "cuda")]
fn cuda_available() -> Option<bool> {
    if !std::path::Path::new("/proc/driver/nvidia/version").exists() {
        return Some(false);
    }
    let listed = std::panic::catch_unwind(|| {
        !Device::enumerate(burn::tensor::DeviceType::Cuda)
            .into_vec()
            .is_empty()
    });
    Some(listed.unwrap_or(false))
}

#[cfg(not(feature = "cuda"))]
fn cuda_available() -> Option<bool> {
    None
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;

/// Whether tensors on `device` live on `flex` (with or without autodiff): where genlab's
/// own CPU kernels (`conv`, `activation`, `sampling`) take over from Burn's generic ones.
pub fn on_flex(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "flex")]
    {
        device.clone().without_autodiff() == burn::tensor::Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}
