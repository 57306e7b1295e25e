//! GLOSSARY: the words the report uses in its own sense, explained once. Its numbers are the
//! constants the code uses, so the explanation cannot drift from what the code does.

use serde::{Deserialize, Serialize};

use crate::Answer;

/// The constants behind the glossary's definitions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Glossary {
    /// AIS's convergence rule: the largest `log Z` shift (nats) against a 4× longer schedule.
    pub max_log_z_shift: f64,
    /// ... and the smallest share of chains that must carry the estimate (0-1).
    pub min_ess_fraction: f64,
    /// Images behind the real-data floor.
    pub floor_images: usize,
}

impl Answer for Glossary {
    const ID: &'static str = "GLOSSARY";
}

impl Glossary {
    pub fn of_this_build() -> Self {
        Self {
            max_log_z_shift: rbm::ais::MAX_LOG_Z_SHIFT,
            min_ess_fraction: rbm::ais::MIN_ESS_FRACTION,
            floor_images: eval::reference::REFERENCE_IMAGES,
        }
    }
}
