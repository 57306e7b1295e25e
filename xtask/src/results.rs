//! `reports/results.json`: every number the report cites, machine-readable: each section's
//! numbers as its experiment wrote them (`reports/numbers/<ID>.json`) and the family
//! comparison, each read through its Rust type, whose name it records: the field docs of
//! that type state the units.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// The results file's content for the report in `reports`: each section's numbers, read
/// through its type (numbers the type does not hold fail here, naming the section), and the
/// name of each type, whose field docs state the units.
pub fn collect(reports: &Path, profile: &str, backend: &str) -> anyhow::Result<Value> {
    let mut sections = Map::new();
    let mut types = Map::new();
    for (id, numbers) in section_numbers(reports) {
        let (typed, type_name) = match study::experiments::templated_section(&id) {
            Some(templated) => ((templated.reread)(&numbers)?, (templated.type_name)()),
            None if id == "CLOSING" => reread::<study::closing::Closing>(&id, &numbers)?,
            None if id == "EVALUATION" => reread::<study::evaluation::Evaluation>(&id, &numbers)?,
            None if id == "GLOSSARY" => reread::<study::glossary::Glossary>(&id, &numbers)?,
            None if id == FAMILIES => reread::<Vec<eval::FamilyRecord>>(&id, &numbers)?,
            None => anyhow::bail!(
                "{}: no section has the id {id}, so its numbers have no type",
                reports.join("numbers").join(format!("{id}.json")).display()
            ),
        };
        sections.insert(id.clone(), typed);
        types.insert(id, json!(type_name));
    }
    Ok(json!({
        "profile": profile,
        "backend": backend,
        "types": types,
        "sections": sections,
    }))
}

/// The numbers of the family comparison (`numbers/families.json`).
const FAMILIES: &str = "families";

/// `numbers` read as `T` and written back, with `T`'s name.
fn reread<T: Serialize + DeserializeOwned>(
    id: &str,
    numbers: &Value,
) -> anyhow::Result<(Value, &'static str)> {
    let typed: T = serde_json::from_value(numbers.clone())
        .with_context(|| format!("{id}: the numbers do not read as its typed result"))?;
    Ok((serde_json::to_value(&typed)?, std::any::type_name::<T>()))
}

/// Every `<reports>/numbers/<ID>.json`, by id.
fn section_numbers(reports: &Path) -> Vec<(String, Value)> {
    let Ok(entries) = std::fs::read_dir(reports.join("numbers")) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|path| {
            let id = path.file_stem()?.to_str()?.to_string();
            Some((id, data::run::read_json::<Value>(&path).ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_without_a_section_of_that_id_are_refused_naming_the_file() {
        let reports = tempfile::tempdir().unwrap();
        let numbers = reports.path().join("numbers");
        data::run::write_json(&numbers.join("X-Q1.json"), &json!({ "ll": -86.1 })).unwrap();
        let err = collect(reports.path(), "quick", "flex").unwrap_err();
        assert!(format!("{err:#}").contains("X-Q1.json"), "{err:#}");
    }

    #[test]
    fn typed_sections_are_read_through_their_type_and_name_it() {
        let reports = tempfile::tempdir().unwrap();
        let committed: Value = data::run::read_json(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/numbers/DBM-Q1.json"),
        )
        .unwrap();
        let path = reports.path().join("numbers").join("DBM-Q1.json");
        data::run::write_json(&path, &committed).unwrap();
        let results = collect(reports.path(), "full", "flex").unwrap();
        assert_eq!(results["sections"]["DBM-Q1"], committed);
        assert!(
            results["types"]["DBM-Q1"]
                .as_str()
                .is_some_and(|t| t.ends_with("q1_filters::FilterShapes")),
            "{}",
            results["types"]
        );
        let mut broken = committed.clone();
        broken.as_object_mut().unwrap().remove("layer_1");
        data::run::write_json(&path, &broken).unwrap();
        let err = collect(reports.path(), "full", "flex").unwrap_err();
        assert!(format!("{err:#}").contains("DBM-Q1"), "{err:#}");
    }
}
