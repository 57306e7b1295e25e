//! GAN-Q5's swap of players: which of the DCGAN's two players makes it learn more slowly than
//! the course CNN. Each player is put against the other backbone's opponent, and the four
//! pairings are read at the same epoch; a player that carries the gap raises the FID whichever
//! opponent it meets.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::q5_backbones::{Progress, backbone_run, progress};
use super::{Logged, Setup};
use gan::model::Backbone;
use gan::train::TrainConfig;

/// The two swapped pairings, `(generator, discriminator)`; the two unswapped ones are GAN-Q5's
/// course CNN and DCGAN runs.
const SWAPS: [(Backbone, Backbone); 2] = [
    (Backbone::Dcgan, Backbone::Cnn),
    (Backbone::Cnn, Backbone::Dcgan),
];

/// One pairing of players, read at the swap epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pairing {
    pub generator: Backbone,
    pub discriminator: Backbone,
    pub epoch: usize,
    pub fid: f64,
    /// The discriminator's mean accuracy on real and fake images over the epoch (0-1).
    pub d_accuracy: f64,
}

impl Pairing {
    fn new(generator: Backbone, discriminator: Backbone, at: Progress) -> Self {
        Self {
            generator,
            discriminator,
            epoch: at.epoch,
            fid: at.fid,
            d_accuracy: at.d_accuracy,
        }
    }
}

/// The shared run of one swapped pairing, `(name, config)`: the generator's run in GAN-Q5
/// (tuned preset, same digits per epoch) with the other discriminator, `swap_epochs` long.
fn swap_run(
    ctx: &Setup,
    (generator, discriminator): (Backbone, Backbone),
) -> (String, TrainConfig) {
    let (_, mut config) = backbone_run(ctx, generator);
    config.model.discriminator_backbone = Some(discriminator);
    let name = format!("q5-g-{}-d-{}", generator.name(), discriminator.name());
    (name, config.with_epochs(ctx.budget.swap_epochs))
}

/// Trains (or reloads) the swapped pairings and reads all four at `swap_epochs`, given the
/// logs of GAN-Q5's course CNN and DCGAN runs.
pub fn swap_the_players(
    ctx: &Setup,
    cnn: &[Logged],
    dcgan: &[Logged],
) -> anyhow::Result<Vec<Pairing>> {
    let epochs = ctx.budget.swap_epochs;
    let at = |records: &[Logged]| -> anyhow::Result<Progress> {
        (progress(records)?.into_iter().find(|p| p.epoch == epochs))
            .with_context(|| format!("a run of GAN-Q5 is shorter than {epochs} epochs"))
    };
    let (c, d) = (Backbone::Cnn, Backbone::Dcgan);
    let mut pairings = vec![Pairing::new(c, c, at(cnn)?), Pairing::new(d, d, at(dcgan)?)];
    for (generator, discriminator) in SWAPS {
        let (name, config) = swap_run(ctx, (generator, discriminator));
        let trained = ctx.train(&name, &config)?;
        pairings.push(Pairing::new(
            generator,
            discriminator,
            at(&trained.records)?,
        ));
    }
    Ok(pairings)
}
