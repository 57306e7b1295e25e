//! Every family's experiments, one folder a family and one file a question.

pub mod creative;
pub mod dbm;
pub mod gan;
pub mod rbm;
pub mod vae;

use crate::Experiment;
use crate::answer::{self, Answer};

/// Every family with its experiments, in report order. A new family adds its line here.
pub static FAMILIES: &[(&str, &[&dyn Experiment])] = &[
    ("rbm", self::rbm::REGISTRY),
    ("dbm", self::dbm::REGISTRY),
    ("gan", self::gan::REGISTRY),
    ("vae", self::vae::REGISTRY),
    ("creative", self::creative::REGISTRY),
];

/// Experiments that read other families' records (GAN-Q6 sets the GAN beside every family
/// and the diffusion model): they run after every other experiment, so that the records they
/// read are the same run's.
pub const RUN_LAST: &[&str] = &["GAN-Q6"];

/// Every experiment of every family, in report order.
pub fn all() -> Vec<&'static dyn Experiment> {
    FAMILIES
        .iter()
        .flat_map(|(_, registry)| registry.iter().copied())
        .collect()
}

/// A section whose answer is a template filled from its typed numbers.
pub struct Templated {
    pub id: &'static str,
    /// Reads the section's numbers (as `results.json` holds them) as its type and renders
    /// its template.
    pub render: fn(&serde_json::Value) -> anyhow::Result<String>,
    /// Reads the numbers as the section's type and writes them back (see
    /// [`answer::reread`]).
    pub reread: fn(&serde_json::Value) -> anyhow::Result<serde_json::Value>,
    /// The Rust type of its numbers, whose field docs state their units.
    pub type_name: fn() -> &'static str,
}

const fn templated<T: Answer>() -> Templated {
    Templated {
        id: T::ID,
        render: answer::render_json::<T>,
        reread: answer::reread::<T>,
        type_name: std::any::type_name::<T>,
    }
}

/// Every section answered by a template, in report order.
pub static TEMPLATED: &[Templated] = &[
    templated::<self::rbm::q1_pseudo_likelihood::MonitoredRun>(),
    templated::<self::rbm::q2_sweeps::Sweeps>(),
    templated::<self::rbm::q3_gibbs_steps::GibbsSteps>(),
    templated::<self::rbm::q4_missing_parts::Completions>(),
    templated::<self::rbm::q5_rows_removed::RowsRemoved>(),
    templated::<self::dbm::q1_filters::FilterShapes>(),
    templated::<self::dbm::q2_samples::DbmSamples>(),
    templated::<self::gan::q1_losses::LossCurves>(),
    templated::<self::gan::q2_strong_discriminator::StrongDiscriminator>(),
    templated::<self::gan::q3_stability::Stability>(),
    templated::<self::gan::q4_latent_space::LatentSpace>(),
    templated::<self::gan::q5_backbones::Backbones>(),
    templated::<self::gan::q6_families::GanEntries>(),
    templated::<self::vae::q1_objective::Objective>(),
    templated::<self::vae::q2_autoencoder::AutoencoderComparison>(),
    templated::<self::vae::q3_latent_space::LatentSpace>(),
    templated::<self::vae::q4_versus_gan::VersusGan>(),
    templated::<self::creative::DiffusionStudy>(),
];

/// The template-rendering of section `id`, if its answer is a template.
pub fn templated_section(id: &str) -> Option<&'static Templated> {
    TEMPLATED.iter().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_numbers_of_every_templated_section_round_trip_through_their_type() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../reports/results.json");
        let results: serde_json::Value = data::run::read_json(&path).unwrap();
        for templated in TEMPLATED {
            let numbers = &results["sections"][templated.id];
            assert!(
                numbers.is_object(),
                "{} has no numbers in results.json",
                templated.id
            );
            // An optional field added since (a config's `null`) reads back as absent.
            let reread = (templated.reread)(numbers).unwrap();
            assert!(
                data::run::same_config(&reread, numbers),
                "{}: {reread} against {numbers}",
                templated.id
            );
            (templated.render)(numbers).unwrap();
        }
    }
}
