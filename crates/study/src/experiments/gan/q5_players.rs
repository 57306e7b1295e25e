//! GAN-Q5's swap of players: which of the DCGAN's two players makes it learn more slowly than
//! the course CNN. Each player is put against the other backbone's opponent, and the four
//! pairings are read at the same epoch; a player that carries the gap raises the FID whichever
//! opponent it meets.

use anyhow::Context as _;
use serde_json::{Value, json};

use super::Setup;
use super::q5_backbones::backbone_run;
use super::q5_reading::{Progress, label, progress};
use gan::model::Backbone;
use gan::train::TrainConfig;

/// The two swapped pairings, `(generator, discriminator)`; the two unswapped ones are GAN-Q5's
/// course CNN and DCGAN runs.
const SWAPS: [(Backbone, Backbone); 2] = [
    (Backbone::Dcgan, Backbone::Cnn),
    (Backbone::Cnn, Backbone::Dcgan),
];

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

/// One pairing of players, read at the compared epoch.
#[derive(Clone, Copy, Debug)]
struct Pairing {
    generator: Backbone,
    discriminator: Backbone,
    at: Progress,
}

/// Trains (or reloads) the swapped pairings and reads all four at `swap_epochs`, given the
/// logs of GAN-Q5's course CNN and DCGAN runs: the paragraph with its table, and its numbers.
pub fn swap_the_players(
    ctx: &Setup,
    cnn: &[super::Logged],
    dcgan: &[super::Logged],
) -> anyhow::Result<(String, Value)> {
    let epochs = ctx.budget.swap_epochs;
    let at = |records: &[super::Logged]| -> anyhow::Result<Progress> {
        (progress(records)?.into_iter().find(|p| p.epoch == epochs))
            .with_context(|| format!("a run of GAN-Q5 is shorter than {epochs} epochs"))
    };
    let mut pairings = vec![
        Pairing {
            generator: Backbone::Cnn,
            discriminator: Backbone::Cnn,
            at: at(cnn)?,
        },
        Pairing {
            generator: Backbone::Dcgan,
            discriminator: Backbone::Dcgan,
            at: at(dcgan)?,
        },
    ];
    for players in SWAPS {
        let (name, config) = swap_run(ctx, players);
        let trained = ctx.train(&name, &config)?;
        pairings.push(Pairing {
            generator: players.0,
            discriminator: players.1,
            at: at(&trained.records)?,
        });
    }
    let numbers = pairings
        .iter()
        .map(|p| {
            json!({ "generator": p.generator, "discriminator": p.discriminator,
                "epoch": p.at.epoch, "fid": p.at.fid, "d_accuracy": p.at.d_accuracy })
        })
        .collect();
    Ok((which_player(&pairings, epochs), Value::Array(numbers)))
}

/// The table of the four pairings and what it says: how far swapping each player moves the
/// FID against either opponent, and which player (if either) carries the gap.
fn which_player(pairings: &[Pairing], epochs: usize) -> String {
    let fid = |generator, discriminator| {
        (pairings.iter())
            .find(|p| p.generator == generator && p.discriminator == discriminator)
            .map(|p| p.at.fid)
    };
    let (c, d) = (Backbone::Cnn, Backbone::Dcgan);
    let (Some(cc), Some(dd), Some(dc), Some(cd)) = (fid(c, c), fid(d, d), fid(d, c), fid(c, d))
    else {
        return String::new();
    };
    if dd <= cc {
        return String::new(); // the DCGAN does not trail: no gap to attribute
    }
    let mut md = format!(
        "\n**Which player slows the DCGAN.** Each of its players trained against the other \
         backbone's ({epochs} epochs, tuned preset, one seed each):\n\n\
         | generator | discriminator | FID after {epochs} epochs | D accuracy over epoch {epochs} |\n\
         |---|---|---:|---:|\n"
    );
    for p in pairings {
        md.push_str(&format!(
            "| {} | {} | {:.1} | {:.1}% |\n",
            label(p.generator),
            label(p.discriminator),
            p.at.fid,
            100.0 * p.at.d_accuracy
        ));
    }
    // The effect of each player's swap, against each of the two opponents.
    let generator = [dc - cc, dd - cd];
    let discriminator = [cd - cc, dd - dc];
    let signed = |x: f64| format!("{x:+.1}");
    md.push_str(&format!(
        "\nThe DCGAN's generator in place of the course CNN's moves the FID by {} (against the \
         course CNN's discriminator) and {} (against the DCGAN's); the DCGAN's discriminator in \
         place of the course CNN's moves it by {} and {}. ",
        signed(generator[0]),
        signed(generator[1]),
        signed(discriminator[0]),
        signed(discriminator[1]),
    ));
    let smallest = |e: [f64; 2]| e[0].min(e[1]);
    let largest = |e: [f64; 2]| e[0].abs().max(e[1].abs());
    md.push_str(if smallest(generator) > largest(discriminator) {
        "The generator carries the gap: it slows the game whichever discriminator it meets, \
         more than either discriminator does. The DCGAN's generator projects the code linearly \
         to 7x7 (batch norm over each of the 6,272 projected features) and upsamples twice; the \
         course CNN's grows from 1x1 through four transposed convolutions. Which of these \
         differences costs the epochs was not isolated.\n"
    } else if smallest(discriminator) > largest(generator) {
        "The discriminator carries the gap: it slows the game whichever generator it meets, \
         more than either generator does. The DCGAN's discriminator is two convolutions (64 and \
         128 channels) and a linear layer over all 6,272 features of the second; the course \
         CNN's has narrower convolutions (32, 64) and a third one (128 channels, 7x7 to 5x5, \
         batch-normalised) before a 5x5 convolution to the logit. Which of these differences \
         costs the epochs was not isolated.\n"
    } else {
        "Neither player alone carries the gap: how much one of them costs depends on its \
         opponent.\n"
    });
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairing(generator: Backbone, discriminator: Backbone, fid: f64) -> Pairing {
        Pairing {
            generator,
            discriminator,
            at: Progress {
                epoch: 10,
                fid,
                recall: 0.8,
                d_accuracy: 0.88,
            },
        }
    }

    fn table(cc: f64, dd: f64, dc: f64, cd: f64) -> String {
        let (c, d) = (Backbone::Cnn, Backbone::Dcgan);
        let pairings = [
            pairing(c, c, cc),
            pairing(d, d, dd),
            pairing(d, c, dc),
            pairing(c, d, cd),
        ];
        which_player(&pairings, 10)
    }

    #[test]
    fn the_player_whose_swap_moves_the_fid_against_both_opponents_carries_the_gap() {
        let by_generator = table(40.0, 90.0, 85.0, 45.0);
        assert!(
            by_generator.contains(
                "moves the FID by +45.0 (against the course CNN's discriminator) and +45.0"
            )
        );
        assert!(by_generator.contains("moves it by +5.0 and +5.0"));
        assert!(by_generator.contains("The generator carries the gap"));
        assert!(by_generator.contains("| DCGAN | course CNN | 85.0 | 88.0% |"));
        assert!(table(40.0, 90.0, 45.0, 85.0).contains("The discriminator carries the gap"));
        // Each swap alone costs little, together much: an interaction, not one player.
        assert!(table(40.0, 90.0, 50.0, 50.0).contains("Neither player alone"));
    }

    #[test]
    fn without_all_four_pairings_or_a_gap_there_is_no_paragraph() {
        let c = Backbone::Cnn;
        assert!(which_player(&[pairing(c, c, 40.0)], 10).is_empty());
        assert!(
            table(40.0, 39.0, 45.0, 45.0).is_empty(),
            "the DCGAN does not trail"
        );
    }
}
