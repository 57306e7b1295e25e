//! One way to build a config from the command line, for every model crate: a preset (or a
//! JSON file), then any field overridden by `--set key=value`, merged through serde as
//! nanoGPT's configurator does. A field a config has is a flag of its command: no crate
//! declares one `Option` per field.
//!
//! ```text
//! cargo run -p gan -- train --preset tuned --set loss=minimax --set discriminator_steps=5
//! cargo run -p rbm -- train --config runs/rbm/strong/config.json --set model.hidden=250
//! ```

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What every `train` command takes besides its preset: the config overrides, the data set
/// and the run's options.
#[derive(Clone, Debug, clap::Args)]
// Every model crate flattens this into its own `TrainArgs`: without its own id, clap's
// derived group names would clash and a debug build would panic on parsing.
#[group(id = "common-train-args")]
pub struct TrainArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The data set trained on (and monitored or scored against); recorded in the run, so
    /// that `sample` and `evaluate` use the same one. Default: MNIST (Fashion-MNIST for the
    /// diffusion model).
    #[arg(long, value_enum)]
    pub dataset: Option<crate::DataSetName>,
    #[command(flatten)]
    pub run: crate::RunOptions,
}

/// `--config FILE` and `--set key=value`, flattened into every `train` command.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// A JSON config (a run's `config.json` or its `config` field) used instead of the
    /// preset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Override one config field, e.g. `--set epochs=5`, `--set model.hidden=250`,
    /// `--set loss=minimax` (repeatable; `-` and `_` are the same in keys; values are read
    /// as JSON, else as a string). an unknown key lists the fields there are.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl TrainArgs {
    /// The `--dataset` asked for, else MNIST.
    pub fn dataset(&self) -> crate::DataSetName {
        self.dataset.unwrap_or(crate::DataSetName::Mnist)
    }
    /// Starts (or, with `--resume`, reopens) the run `<runs>/<model>/<name>` of `config`
    /// and records the data set it trains on.
    pub fn open_run<C: Serialize>(
        &self,
        model: &str,
        default_name: &str,
        config: &C,
        seed: u64,
        selected: &crate::SelectedDevice,
    ) -> anyhow::Result<crate::Run> {
        let run = crate::Run::start(model, default_name, &self.run, config, seed, selected)?;
        run.record("dataset", &self.dataset())?;
        Ok(run)
    }
}

impl ConfigArgs {
    /// `preset` (or the `--config` file), with every `--set` applied.
    pub fn resolve<C: Serialize + DeserializeOwned>(&self, preset: C) -> anyhow::Result<C> {
        let base = match &self.config {
            Some(path) => {
                let saved: Value = crate::run::read_json(path)?;
                // A run's config.json holds the config under "config".
                let config = saved.get("config").cloned().unwrap_or(saved);
                let typed = serde_json::from_value::<C>(config.clone()).with_context(|| {
                    format!("--config {}: not a config of this model", path.display())
                })?;
                // Written back, so that a field added since that file was saved is there
                // (at its default) for --set.
                let known = serde_json::to_value(&typed)?;
                let unknown = unknown_keys(&config, &known, "");
                if !unknown.is_empty() {
                    bail!(
                        "--config {}: no field {} in this model's config (misspelt?); its fields: {}",
                        path.display(),
                        unknown.join(", "),
                        keys(&base_keys(&known)).join(", ")
                    );
                }
                known
            }
            None => serde_json::to_value(&preset)?,
        };
        apply_overrides(base, &self.overrides)
    }
}

/// Applies `key=value` overrides to the serialised config `base` and reads it back as `C`.
/// An unknown key is an error that lists the keys there are.
pub fn apply_overrides<C: DeserializeOwned>(
    mut base: Value,
    overrides: &[String],
) -> anyhow::Result<C> {
    for item in overrides {
        let Some((key, raw)) = item.split_once('=') else {
            bail!("--set {item}: expected KEY=VALUE, e.g. --set epochs=5");
        };
        let key = key.trim().replace('-', "_");
        let known = keys(&base_keys(&base)).join(", ");
        let slot = field(&mut base, &key).with_context(|| {
            format!("--set {item}: the config has no field `{key}`; its fields: {known}")
        })?;
        *slot =
            serde_json::from_str(raw.trim()).unwrap_or_else(|_| Value::String(raw.trim().into()));
    }
    let text = base.to_string();
    serde_json::from_value(base)
        .with_context(|| format!("the config after --set is not valid: {text}"))
}

/// The dotted paths of `given` that `known` (the same config read and written back) lacks:
/// fields serde ignored, such as a misspelt one.
fn unknown_keys(given: &Value, known: &Value, prefix: &str) -> Vec<String> {
    let (Some(given), Some(known)) = (given.as_object(), known.as_object()) else {
        return Vec::new();
    };
    given
        .iter()
        .flat_map(|(key, value)| {
            let path = format!("{prefix}{key}");
            match known.get(key) {
                None => vec![format!("`{path}`")],
                Some(inner) => unknown_keys(value, inner, &format!("{path}.")),
            }
        })
        .collect()
}

/// The field at a dotted path (`model.hidden`).
fn field<'a>(value: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.')
        .try_fold(value, |v, part| v.as_object_mut()?.get_mut(part))
}

fn base_keys(value: &Value) -> Vec<(String, Value)> {
    value
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Every settable key, nested objects as dotted paths.
fn keys(fields: &[(String, Value)]) -> Vec<String> {
    fields
        .iter()
        .flat_map(|(key, value)| match value {
            Value::Object(_) => keys(&base_keys(value))
                .into_iter()
                .map(|inner| format!("{key}.{inner}"))
                .collect(),
            _ => vec![key.clone()],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Model {
        hidden: usize,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Loss {
        Minimax,
        NonSaturating,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Config {
        model: Model,
        learning_rate: f64,
        loss: Loss,
        shuffle: bool,
    }

    fn preset() -> Config {
        Config {
            model: Model { hidden: 10 },
            learning_rate: 0.01,
            loss: Loss::NonSaturating,
            shuffle: false,
        }
    }

    fn set(items: &[&str]) -> anyhow::Result<Config> {
        ConfigArgs {
            config: None,
            overrides: items.iter().map(|s| s.to_string()).collect(),
        }
        .resolve(preset())
    }

    #[test]
    fn overrides_reach_nested_fields_enums_and_numbers() {
        let c = set(&[
            "model.hidden=500",
            "learning-rate=0.05",
            "loss=minimax",
            "shuffle=true",
        ])
        .unwrap();
        assert_eq!(
            c,
            Config {
                model: Model { hidden: 500 },
                learning_rate: 0.05,
                loss: Loss::Minimax,
                shuffle: true
            }
        );
        assert_eq!(set(&[]).unwrap(), preset());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_flag_and_what_would_work() {
        let err = format!("{:#}", set(&["hiden=5"]).unwrap_err());
        assert!(
            err.contains("--set hiden=5") && err.contains("model.hidden"),
            "{err}"
        );
        let err = format!("{:#}", set(&["model.hidden=many"]).unwrap_err());
        assert!(err.contains("not valid"), "{err}");
        let err = format!("{:#}", set(&["epochs"]).unwrap_err());
        assert!(err.contains("KEY=VALUE"), "{err}");
    }

    #[test]
    fn a_config_file_replaces_the_preset_and_a_run_record_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut saved = preset();
        saved.model.hidden = 64;
        crate::run::write_json(&path, &serde_json::json!({ "seed": 1, "config": saved })).unwrap();
        let args = ConfigArgs {
            config: Some(path.clone()),
            overrides: vec!["shuffle=true".into()],
        };
        let c: Config = args.resolve(preset()).unwrap();
        assert_eq!(c.model.hidden, 64);
        assert!(c.shuffle);
        crate::run::write_json(&path, &serde_json::json!({ "other": 1 })).unwrap();
        let err = format!("{:#}", args.resolve(preset()).unwrap_err());
        assert!(err.contains("not a config of this model"), "{err}");
    }

    #[test]
    fn a_misspelt_field_in_a_config_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut file = serde_json::to_value(preset()).unwrap();
        file["lerning_rate"] = serde_json::json!(0.5);
        file["model"]["hiden"] = serde_json::json!(5);
        crate::run::write_json(&path, &file).unwrap();
        let args = ConfigArgs {
            config: Some(path),
            overrides: Vec::new(),
        };
        let err = format!("{:#}", args.resolve(preset()).unwrap_err());
        assert!(
            err.contains("`lerning_rate`") && err.contains("`model.hiden`"),
            "{err}"
        );
        assert!(err.contains("learning_rate"), "the fields there are: {err}");
    }
}
