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
    println!("wrote {}:", path.display());
    for (name, shape) in tensor_table(module) {
        println!("  {name:<40} {shape:?}");
    }
    Ok(())
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
