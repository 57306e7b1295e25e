//! GAN-Q5's one-difference-at-a-time runs: the swap of players points to the DCGAN's
//! discriminator, so each run changes that discriminator (or its training) in one way, as long
//! as the swapped pairings, and is read beside the unchanged DCGAN and the course CNN at the
//! same epoch. Then, with the discriminator's change that closes its share of the gap, one
//! difference of the generator from the course CNN's at a time; and the DCGAN with the
//! discriminator's and the generator's third layer together, trained on for the aim.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::q5_backbones::{backbone_run, progress};
use super::{Logged, Setup};
use gan::model::Backbone;
use gan::train::TrainConfig;

/// One change: its run's name, what the report calls it, and what it sets.
struct Change {
    name: &'static str,
    label: &'static str,
    apply: fn(&mut TrainConfig),
}

/// The differences between the two discriminators, and the two training levers the DCGAN
/// paper's MNIST ports use, one at a time.
const CHANGES: [Change; 5] = [
    Change {
        name: "third-convolution",
        label: "a third convolution (128 channels, 3×3, batch norm), as the course CNN's",
        apply: |c| c.model.dcgan_third_convolution = Some(true),
    },
    Change {
        name: "no-batch-norm",
        label: "no batch norm",
        apply: |c| c.model.dcgan_batch_norm = Some(false),
    },
    Change {
        name: "dropout",
        label: "dropout 0.3 after each convolution",
        apply: |c| c.model.dcgan_dropout = Some(0.3),
    },
    Change {
        name: "real-label",
        label: "one-sided label smoothing (real label 0.9)",
        apply: |c| c.real_label = Some(0.9),
    },
    Change {
        name: "learning-rate",
        label: "D's learning rate doubled (4·10⁻⁴)",
        apply: |c| c.discriminator_learning_rate = 4e-4,
    },
];

/// The DCGAN generator's differences from the course CNN's, each on top of
/// [`DISCRIMINATOR_FIX`].
const GENERATOR_CHANGES: [Change; 2] = [
    Change {
        name: "channel-norm",
        label: "G's projection batch-normalised per channel (128 maps), as the course CNN's",
        apply: |c| c.model.dcgan_channel_norm = Some(true),
    },
    Change {
        name: "third-layer",
        label: "a third layer in G (3×3 transposed convolution, 5 → 7 pixels, 128 channels), as the course CNN's",
        apply: |c| c.model.dcgan_generator_third_layer = Some(true),
    },
];

/// The discriminator change the generator's changes build on (the first of [`CHANGES`]).
const DISCRIMINATOR_FIX: &Change = &CHANGES[0];

/// The generator change that, with [`DISCRIMINATOR_FIX`], closes the gap to the course CNN.
const GENERATOR_THIRD_LAYER: &Change = &GENERATOR_CHANGES[1];

/// The DCGAN with both third layers, [`DISCRIMINATOR_FIX`] and [`GENERATOR_THIRD_LAYER`],
/// trained on for the aim (`deeper_dcgan_epochs`): `(name, config)`.
pub fn deeper_dcgan_run(ctx: &Setup) -> (String, TrainConfig) {
    let config = changed_config(ctx, &[DISCRIMINATOR_FIX, GENERATOR_THIRD_LAYER]);
    let name = "q5-dcgan-third-layers".to_string();
    (name, config.with_epochs(ctx.budget.deeper_dcgan_epochs))
}

/// A run read at the comparison epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChangedRun {
    /// The change's short name ("dcgan" for the unchanged DCGAN, "cnn" for the course CNN).
    pub key: String,
    /// What differs from the peers' DCGAN, as the report's table names it.
    pub change: String,
    pub fid: f64,
    pub class_kl: f64,
    pub recall: f64,
    /// The discriminator's mean accuracy on real and fake images over the epoch (0-1).
    pub d_accuracy: f64,
}

impl ChangedRun {
    fn read(key: &str, change: &str, records: &[Logged], epoch: usize) -> anyhow::Result<Self> {
        let at = (progress(records)?.into_iter().find(|p| p.epoch == epoch))
            .with_context(|| format!("the run `{change}` is shorter than {epoch} epochs"))?;
        let logged = (records.iter().find(|r| r.epoch == epoch)).context("a scored epoch")?;
        Ok(Self {
            key: key.to_string(),
            change: change.to_string(),
            fid: at.fid,
            class_kl: logged.scores()?.classes.kl_to_uniform,
            recall: at.recall,
            d_accuracy: at.d_accuracy,
        })
    }
}

/// The DCGAN's config with `changes` applied.
fn changed_config(ctx: &Setup, changes: &[&Change]) -> TrainConfig {
    let (_, mut config) = backbone_run(ctx, Backbone::Dcgan);
    changes
        .iter()
        .for_each(|change| (change.apply)(&mut config));
    config
}

/// The DCGAN's run with `changes` (named by the last), as long as the swapped pairings;
/// `player` ("d" or "g") names the network the last change is to.
fn changed_run(ctx: &Setup, player: &str, changes: &[&Change]) -> (String, TrainConfig) {
    let last = changes.last().map_or("none", |c| c.name);
    let name = format!("q5-dcgan-{player}-{last}");
    let config = changed_config(ctx, changes);
    (name, config.with_epochs(ctx.budget.swap_epochs))
}

/// Trains (or reloads) the changed DCGANs and reads them at `swap_epochs`, after the course
/// CNN and the unchanged DCGAN (given their logs).
pub fn change_the_discriminator(
    ctx: &Setup,
    cnn: &[Logged],
    dcgan: &[Logged],
) -> anyhow::Result<Vec<ChangedRun>> {
    let epoch = ctx.budget.swap_epochs;
    let mut runs = vec![
        ChangedRun::read(
            "cnn",
            "reference: the course CNN (both players)",
            cnn,
            epoch,
        )?,
        ChangedRun::read("dcgan", "none (the peers' DCGAN)", dcgan, epoch)?,
    ];
    for change in &CHANGES {
        let (name, config) = changed_run(ctx, "d", &[change]);
        let trained = ctx.train(&name, &config)?;
        runs.push(ChangedRun::read(
            change.name,
            change.label,
            &trained.records,
            epoch,
        )?);
    }
    Ok(runs)
}

/// Trains (or reloads) the DCGANs with [`DISCRIMINATOR_FIX`] and one generator change each,
/// and reads them at `swap_epochs`, after the course CNN and the DCGAN with the fix alone
/// (the rows of `discriminator_changes` keyed "cnn" and [`DISCRIMINATOR_FIX`]'s name).
pub fn change_the_generator(
    ctx: &Setup,
    discriminator_changes: &[ChangedRun],
) -> anyhow::Result<Vec<ChangedRun>> {
    let row = |key: &str| {
        (discriminator_changes.iter().find(|r| r.key == key))
            .with_context(|| format!("the run `{key}`"))
    };
    let mut fixed = row(DISCRIMINATOR_FIX.name)?.clone();
    fixed.change = "none (D with the third convolution)".to_string();
    let mut runs = vec![row("cnn")?.clone(), fixed];
    for change in &GENERATOR_CHANGES {
        let (name, config) = changed_run(ctx, "g", &[DISCRIMINATOR_FIX, change]);
        let trained = ctx.train(&name, &config)?;
        let records = &trained.records;
        runs.push(ChangedRun::read(
            change.name,
            change.label,
            records,
            ctx.budget.swap_epochs,
        )?);
    }
    Ok(runs)
}
