//! Weights for PyTorch: any model's parameters as one safetensors file in PyTorch's layout
//! (burn-store's adapter transposes Linear weights to `[out, in]` and names norm parameters
//! `weight`/`bias`), so `safetensors.torch.load_file` reads them into the peer scripts'
//! modules. Every model's `export` command prints the table of names and shapes it wrote.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

/// The flags of every model's `export` command.
#[derive(Clone, Debug, clap::Args)]
pub struct ExportArgs {
    /// The run folder, e.g. runs/<model>/<name> or a shipped one under data/pretrained.
    #[arg(long)]
    pub run: PathBuf,
    /// The file written, e.g. model.safetensors.
    #[arg(long)]
    pub out: PathBuf,
}

/// The tensors of `module` as exported, `(name, shape)` in PyTorch's layout.
pub fn tensor_table<M: Module>(module: &M) -> Vec<(String, Vec<usize>)> {
    module
        .collect(None, Some(Box::new(BurnToPyTorchAdapter)), true)
        .into_iter()
        .map(|t| (t.name.clone(), t.shape.iter().copied().collect()))
        .collect()
}

/// Writes `module` to `path` as safetensors in PyTorch's layout (replacing an existing file)
/// and prints the table of what it wrote.
pub fn export_safetensors<M: Module>(module: &M, path: &Path) -> anyhow::Result<()> {
    let mut store = SafetensorsStore::from_file(path)
        .overwrite(true)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true);
    module
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    print_table(&mut std::io::stdout().lock(), path, &tensor_table(module))
}

/// The table of what was written; a reader that closed the pipe early (`| head`) is not an
/// error, since the file is already written.
fn print_table(
    out: &mut impl std::io::Write,
    path: &Path,
    table: &[(String, Vec<usize>)],
) -> anyhow::Result<()> {
    let written = (|| -> std::io::Result<()> {
        writeln!(out, "wrote {}:", path.display())?;
        for (name, shape) in table {
            writeln!(out, "  {name:<40} {shape:?}")?;
        }
        out.flush()
    })();
    match written {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}

/// Loads a file written by [`export_safetensors`] (or by PyTorch with the same names) into
/// `module`, whose shapes must match.
pub fn import_safetensors<M: Module>(module: M, path: &Path) -> anyhow::Result<M> {
    let mut module = module;
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .skip_enum_variants(true);
    module
        .load_from(&mut store)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))?;
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose reader has gone, as `| head` leaves stdout.
    struct ClosedPipe;

    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_does_not_fail_the_export_but_a_full_disk_does() {
        let table = vec![("layer.weight".to_string(), vec![2, 3])];
        print_table(&mut ClosedPipe, Path::new("m.safetensors"), &table).unwrap();
        let mut shown = Vec::new();
        print_table(&mut shown, Path::new("m.safetensors"), &table).unwrap();
        let shown = String::from_utf8(shown).unwrap();
        assert!(
            shown.contains("wrote m.safetensors:") && shown.contains("[2, 3]"),
            "{shown}"
        );
        struct Full;
        impl std::io::Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::StorageFull.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        assert!(print_table(&mut Full, Path::new("m"), &table).is_err());
    }
}
