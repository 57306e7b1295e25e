//! Tests of [`super`]: the `backend` module.

use super::*;

fn llvmpipe() -> AdapterSummary {
    AdapterSummary {
        name: "llvmpipe (LLVM 15.0.6, 256 bits)".into(),
        kind: AdapterKind::Cpu,
        api: "Gl".into(),
    }
}

#[test]
fn auto_on_a_machine_with_only_a_software_adapter_takes_flex_and_says_why() {
    let probe = Probe {
        adapters: Some(vec![llvmpipe()]),
        cuda: None,
    };
    let selected = decide(BackendChoice::Auto, &probe).unwrap();
    assert_eq!(selected.backend, Backend::Flex);
    assert!(selected.reason.contains("llvmpipe"), "{}", selected.reason);
    assert!(
        selected.reason.contains("no hardware GPU"),
        "{}",
        selected.reason
    );
}

#[test]
fn asking_for_wgpu_without_a_gpu_names_the_command_that_works() {
    let probe = Probe {
        adapters: Some(vec![llvmpipe()]),
        cuda: None,
    };
    let err = decide(BackendChoice::Wgpu, &probe).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, BackendError::NoGpu { .. }));
    assert!(msg.contains("--backend flex"), "{msg}");
    assert!(
        msg.contains("--no-default-features --features flex"),
        "{msg}"
    );
    assert!(msg.contains("llvmpipe"), "{msg}");
}

#[test]
fn asking_for_a_backend_not_compiled_in_is_a_clear_error() {
    let err = decide(BackendChoice::Cuda, &Probe::default()).unwrap_err();
    assert!(matches!(
        err,
        BackendError::NotCompiled {
            backend: "cuda",
            ..
        }
    ));
    assert!(err.to_string().contains("--features cuda"), "{err}");
    let err = decide(BackendChoice::Wgpu, &Probe::default()).unwrap_err();
    assert!(matches!(
        err,
        BackendError::NotCompiled {
            backend: "wgpu",
            ..
        }
    ));
}

#[test]
fn cuda_without_a_device_is_no_gpu() {
    let probe = Probe {
        adapters: None,
        cuda: Some(false),
    };
    let err = decide(BackendChoice::Cuda, &probe).unwrap_err();
    assert!(matches!(
        err,
        BackendError::NoGpu {
            backend: "cuda",
            ..
        }
    ));
}

/// On this machine, whatever it is, `auto` never fails and never picks a software adapter.
#[test]
fn auto_on_this_machine_gives_a_working_device() {
    let selected = select_device(BackendChoice::Auto).unwrap();
    let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &selected.device);
    assert_eq!(x.sum().into_scalar::<f32>(), 6.0);
    if let Some(adapters) = Probe::system().adapters
        && !adapters.iter().any(AdapterSummary::is_hardware)
    {
        assert_eq!(selected.backend, Backend::Flex);
    }
}

#[test]
fn flex_is_always_available_in_test_builds() {
    let selected = select_device(BackendChoice::Flex).unwrap();
    assert_eq!(selected.backend, Backend::Flex);
    assert!(selected.autodiff().is_autodiff());
}
