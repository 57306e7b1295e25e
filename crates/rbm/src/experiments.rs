//! The experiments that answer RBM-Q1 to RBM-Q5: each trains or loads what it needs, writes
//! its figures, and returns its section of the report with the numbers it measured.

use std::path::Path;

use anyhow::Context as _;
use burn::tensor::{Device, Distribution, Int, Tensor};
use data::figure::{digit_grid, save_png, tensor_values};
use data::plot::{LinePlot, Series};
use data::section::{ExperimentArgs, write_section};
use data::{DataSetName, ImageBatcher, ImageSet, ImageTransform, Mask, Run, SelectedDevice, Split};
use eval::classifier::Classifier;
use serde_json::{Value, json};

use crate::ais::{AisConfig, base_rate_bias, estimate_log_z, mean_log_likelihood};
use crate::inpaint::{Completion, complete, missing_mse};
use crate::model::RbmConfig;
use crate::train::{InputMode, RbmState, TrainConfig, monitor, train_epoch};

/// The question ids this crate answers.
pub const QUESTIONS: [&str; 5] = ["RBM-Q1", "RBM-Q2", "RBM-Q3", "RBM-Q4", "RBM-Q5"];

/// What every experiment needs.
pub struct Experiments<'a> {
    pub args: &'a ExperimentArgs,
    pub selected: &'a SelectedDevice,
    pub train: ImageSet,
    pub test: ImageSet,
}

impl Experiments<'_> {
    fn device(&self) -> &Device {
        &self.selected.device
    }

    /// Test images used for evaluation: all of them in full runs.
    fn test_images(&self) -> usize {
        if self.args.quick { 1000 } else { 10_000 }
    }

    fn ais(&self) -> AisConfig {
        AisConfig::new()
            .with_chains(100)
            .with_betas(if self.args.quick { 1000 } else { 14_500 })
    }

    /// The binarised model that RBM-Q3 to Q5 study.
    fn base_config(&self) -> TrainConfig {
        let config =
            TrainConfig::new(RbmConfig::new().with_hidden(if self.args.quick { 64 } else { 500 }))
                .with_learning_rate(0.05)
                .with_batch_size(20)
                .with_momentum(0.5)
                .with_input(InputMode::Threshold)
                .with_shuffle(true)
                .with_monitor_images(500);
        if self.args.quick {
            config.with_epochs(3).with_train_limit(10_000)
        } else {
            config.with_epochs(20)
        }
    }

    fn train_subset(&self, config: &TrainConfig) -> ImageSet {
        if config.train_limit > 0 {
            self.train.clone().truncated(config.train_limit)
        } else {
            self.train.clone()
        }
    }

    /// Trains `config` as run `runs/rbm-experiments/<name>`, calling `after_epoch` after every
    /// epoch for extra figures (merged into the epoch's record). A finished run with the same
    /// config is loaded instead of retrained.
    fn train(
        &self,
        name: &str,
        config: &TrainConfig,
        mut after_epoch: impl FnMut(&RbmState) -> Value,
    ) -> anyhow::Result<(RbmState, Vec<Value>)> {
        let options =
            data::run::reuse_finished(Path::new("runs/rbm-experiments"), "rbm", name, config);
        let finished = options.resume;
        let device = self.device();
        let train = self.train_subset(config);
        let mut run = Run::start("rbm", name, &options, config, config.seed, self.selected)?;
        device.seed(config.seed);
        let state = run.train_epochs(
            RbmState::new(config, device),
            config.epochs,
            |state, epoch| {
                let mut record = train_epoch(state, epoch, &train, &self.test, config, device)?;
                if let (Value::Object(record), Value::Object(extra)) =
                    (&mut record, after_epoch(state))
                {
                    record.extend(extra);
                }
                Ok(record)
            },
        )?;
        if !finished {
            run.finish(
                json!({ "final": monitor(&state.rbm, &train, &self.test, config, device) }),
            )?;
        }
        let records = data::run::read_metrics(&run.dir.join("metrics.jsonl"))?;
        Ok((state, records))
    }

    /// Test images as `config` presents them, and their labels.
    fn test_batch(&self, config: &TrainConfig, mask: Option<Mask>) -> data::ImageBatch {
        let indices: Vec<usize> = (0..self.test_images().min(self.test.len())).collect();
        ImageBatcher::new(ImageTransform {
            mask,
            ..config.transform()
        })
        .batch_indices(&self.test, &indices, self.device())
    }

    fn log_likelihood(
        &self,
        state: &RbmState,
        config: &TrainConfig,
    ) -> (f64, crate::ais::LogZEstimate) {
        let base = base_rate_bias(&pixel_means(&self.train, config), self.train.len());
        let estimate = estimate_log_z(&state.rbm, &base, &self.ais(), self.device());
        let v = self.test_batch(config, None).images;
        (mean_log_likelihood(&state.rbm, v, estimate.log_z), estimate)
    }

    fn classifier(&self) -> anyhow::Result<Classifier> {
        Ok(eval::train::load_classifier(
            &eval::pretrained_dir(),
            DataSetName::Mnist,
            self.device(),
        )?
        .0)
    }
}

/// Mean of every pixel over `set` as `config` presents it (thresholded or grey).
pub fn pixel_means(set: &ImageSet, config: &TrainConfig) -> Vec<f32> {
    let mut sums = vec![0f64; data::PIXELS];
    let threshold = config.input == InputMode::Threshold;
    for i in 0..set.len() {
        for (s, &p) in sums.iter_mut().zip(set.image(i)) {
            let value = p as f64 / 255.0;
            *s += if threshold {
                (value > 0.5) as u8 as f64
            } else {
                value
            };
        }
    }
    sums.iter().map(|s| (s / set.len() as f64) as f32).collect()
}

/// Fraction of images the classifier assigns to their label.
fn accuracy(classifier: &Classifier, images: Tensor<2>, labels: Tensor<1, Int>) -> f64 {
    let n = labels.dims()[0] as f64;
    let predicted = classifier.forward(images).argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum().into_scalar::<i64>() as f64 / n
}

fn f(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or(f64::NAN)
}

/// Runs the experiment answering `id`.
pub fn run(id: &str, ctx: &Experiments) -> anyhow::Result<()> {
    match id {
        "RBM-Q1" => q1_pseudo_likelihood(ctx),
        "RBM-Q2" => q2_sweeps(ctx),
        "RBM-Q3" => q3_gibbs_steps(ctx),
        "RBM-Q4" | "RBM-Q5" => q4_q5_missing_parts(ctx),
        other => {
            anyhow::bail!("no experiment answers {other} yet (this crate answers {QUESTIONS:?})")
        }
    }
}

/// RBM-Q1: pseudo-likelihoods and the AIS likelihood of one run, epoch by epoch.
fn q1_pseudo_likelihood(ctx: &Experiments) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (_, records) = ctx.train("q1", &config, |state| {
        let (ll, estimate) = ctx.log_likelihood(state, &config);
        json!({ "ais_test_log_likelihood": ll, "ais_ess": estimate.effective_sample_size, "log_z": estimate.log_z })
    })?;
    let epochs: Vec<f64> = records.iter().map(|r| f(r, "epoch")).collect();
    let series = |key: &str| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .zip(&records)
            .map(|(e, r)| (*e, f(r, key)))
            .collect()
    };
    let (path, link) = ctx.args.figure("rbm-q1-likelihoods.png");
    LinePlot::new(
        "RBM-Q1: what is monitored, epoch by epoch",
        "epoch",
        "nats per image",
    )
    .with_series(Series::new(
        "pseudo-likelihood, exact (784 conditionals)",
        series("pseudo_likelihood_exact"),
    ))
    .with_series(Series::new(
        "pseudo-likelihood, scikit-learn (1 pixel x 784)",
        series("pseudo_likelihood_stochastic"),
    ))
    .with_series(Series::new(
        "test log-likelihood (AIS)",
        series("ais_test_log_likelihood"),
    ))
    .save(&path)?;

    let first = &records[0];
    let last = records.last().context("at least one epoch")?;
    let pl: Vec<f64> = records
        .iter()
        .map(|r| f(r, "pseudo_likelihood_exact"))
        .collect();
    let ll: Vec<f64> = records
        .iter()
        .map(|r| f(r, "ais_test_log_likelihood"))
        .collect();
    let corr = pearson(&pl, &ll);
    let mut md = String::new();
    md.push_str(&format!(
        "Run: {} hidden units, PCD-1, learning rate {}, momentum {}, batch {}, {} epochs on {} thresholded \
         training digits; AIS with {} chains and {} temperatures on {} test digits after every epoch.\n\n",
        config.model.hidden,
        config.learning_rate,
        config.momentum,
        config.batch_size,
        config.epochs,
        ctx.train_subset(&config).len(),
        ctx.ais().chains,
        ctx.ais().betas,
        ctx.test_images()
    ));
    md.push_str("| epoch | PL exact | PL scikit-learn | AIS test log-likelihood | AIS ESS | test reconstruction MSE |\n|---:|---:|---:|---:|---:|---:|\n");
    for r in &records {
        md.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.4} |\n",
            f(r, "epoch"),
            f(r, "pseudo_likelihood_exact"),
            f(r, "pseudo_likelihood_stochastic"),
            f(r, "ais_test_log_likelihood"),
            f(r, "ais_ess"),
            f(r, "test_reconstruction_mse")
        ));
    }
    md.push_str(&format!("\n![RBM-Q1]({link})\n\n"));
    md.push_str(&format!(
        "**Why not the likelihood.** `log p(v) = −F(v) − log Z`, and `Z` sums `e^{{−F(v)}}` over all \
         2^784 binary images: it cannot be computed, only estimated (AIS above, seconds to minutes per \
         estimate). The pseudo-likelihood `Σᵢ log p(vᵢ | v₋ᵢ)` needs no `Z`: each conditional is a \
         ratio of two free energies, `σ(F(ṽ⁽ⁱ⁾) − F(v))`. scikit-learn evaluates one random pixel per \
         image and multiplies by 784, a noisy estimate of the same sum: here it read {:.2} against the \
         exact {:.2} nats after the last epoch.\n\n",
        f(last, "pseudo_likelihood_stochastic"),
        f(last, "pseudo_likelihood_exact")
    ));
    let ess = f(last, "ais_ess");
    md.push_str(&format!(
        "**How far to trust the AIS column.** After the last epoch the importance weights had an \
         effective sample size of {ess:.1} of {} chains{}.\n\n",
        ctx.ais().chains,
        if ess < 10.0 {
            ": a few chains carry the estimate, so these log-likelihoods are indicative only \
             (the full run uses a 14.5x longer schedule; `rbm evaluate` also repeats it 4x longer)"
        } else {
            ""
        }
    ));
    md.push_str(&format!(
        "**What is optimised, what is monitored.** Training follows the PCD estimate of the likelihood \
         gradient, `⟨vhᵀ⟩_data − ⟨vhᵀ⟩_chains`; neither pseudo-likelihood enters the update. Over the \
         run the exact pseudo-likelihood moved from {:.2} to {:.2} and the AIS test log-likelihood from \
         {:.2} to {:.2} nats; across epochs their Pearson correlation is {:.2}. The pseudo-likelihood \
         only scores each pixel given all the others — local consistency — so it can improve while \
         the model puts mass on spurious modes that only the global `Z` reveals.\n",
        f(first, "pseudo_likelihood_exact"),
        f(last, "pseudo_likelihood_exact"),
        f(first, "ais_test_log_likelihood"),
        f(last, "ais_test_log_likelihood"),
        corr
    ));
    write_section(
        &ctx.args.reports,
        "RBM-Q1",
        &md,
        &json!({ "config": config, "epochs": records }),
    )
}

/// RBM-Q2: hidden units, learning rate and training length.
fn q2_sweeps(ctx: &Experiments) -> anyhow::Result<()> {
    let base = ctx.base_config();
    let (hidden_sizes, learning_rates): (&[usize], &[f64]) = if ctx.args.quick {
        (&[10, 64, 256], &[0.005, 0.05, 0.5])
    } else {
        (&[10, 64, 256, 500], &[0.001, 0.01, 0.1])
    };
    let mut settings: Vec<(String, TrainConfig)> = Vec::new();
    for &hidden in hidden_sizes {
        let mut c = base.clone();
        c.model.hidden = hidden;
        settings.push((format!("{hidden} hidden, lr {}", c.learning_rate), c));
    }
    for &lr in learning_rates {
        let mut c = base.clone();
        c.learning_rate = lr;
        if lr != base.learning_rate {
            settings.push((format!("{} hidden, lr {lr}", c.model.hidden), c));
        }
    }
    let originals = ctx
        .test_batch(&base, None)
        .images
        .slice([0..10, 0..data::PIXELS]);
    let mut rows = vec![tensor_values(originals.clone())];
    let mut mse_plot = LinePlot::new(
        "RBM-Q2: reconstruction error of test digits",
        "epoch",
        "mean squared error",
    )
    .log_y(true);
    let mut md = format!(
        "Every run: PCD-1, momentum {}, batch {}, {} epochs on {} thresholded training digits; AIS \
         ({} chains, {} temperatures) after the last epoch on {} test digits.\n\n\
         | setting | AIS test log-likelihood | AIS ESS | PL exact | test reconstruction MSE | MSE after epoch 1 |\n|---|---:|---:|---:|---:|---:|\n",
        base.momentum,
        base.batch_size,
        base.epochs,
        ctx.train_subset(&base).len(),
        ctx.ais().chains,
        ctx.ais().betas,
        ctx.test_images()
    );
    let mut numbers = Vec::new();
    for (i, (label, config)) in settings.iter().enumerate() {
        let (state, records) = ctx.train(&format!("q2-{i}"), config, |_| json!({}))?;
        let (ll, estimate) = ctx.log_likelihood(&state, config);
        let last = records.last().context("at least one epoch")?;
        md.push_str(&format!(
            "| {label} | {ll:.2} | {:.1} | {:.2} | {:.4} | {:.4} |\n",
            estimate.effective_sample_size,
            f(last, "pseudo_likelihood_exact"),
            f(last, "test_reconstruction_mse"),
            f(&records[0], "test_reconstruction_mse")
        ));
        mse_plot = mse_plot.with_series(Series::new(
            label.clone(),
            records
                .iter()
                .map(|r| (f(r, "epoch"), f(r, "test_reconstruction_mse")))
                .collect(),
        ));
        rows.push(tensor_values(state.rbm.reconstruct(originals.clone())));
        numbers.push(json!({ "setting": label, "config": config, "ais_test_log_likelihood": ll, "ais": estimate, "epochs": records }));
    }
    let (grid_path, grid_link) = ctx.args.figure("rbm-q2-reconstructions.png");
    save_png(&digit_grid(&rows.concat(), 10, None), &grid_path)?;
    let (plot_path, plot_link) = ctx.args.figure("rbm-q2-reconstruction-error.png");
    mse_plot.save(&plot_path)?;
    md.push_str(&format!(
        "\n![reconstructions]({grid_link})\n\nRows: unseen test digits, then their mean-field \
         reconstructions by each setting, in the order of the table.\n\n![error]({plot_link})\n\n\
         More hidden units give the model more features to explain a digit with, so reconstructions \
         sharpen and the error falls; the likelihood needs more than good reconstructions (a model \
         can reconstruct well and still spread probability badly), which is why both columns are \
         shown. The learning rate trades speed against stability; the curves show the effect of \
         training length epoch by epoch.\n"
    ));
    write_section(
        &ctx.args.reports,
        "RBM-Q2",
        &md,
        &json!({ "runs": numbers }),
    )
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// RBM-Q3: Gibbs chains of growing length, from test digits and from noise.
fn q3_gibbs_steps(ctx: &Experiments) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (state, base_records) = ctx.train("base", &config, |_| json!({}))?;
    let classifier = ctx.classifier()?;
    let device = ctx.device();
    let steps = [1usize, 10, 100, 1000];
    let mut sample_scores = None;
    let chains = 10;
    let batch = ctx.test_batch(&config, None);
    let labels = batch.labels.clone();
    let n = labels.dims()[0];
    let mut md = format!(
        "Model: {} hidden units, PCD-1, {} epochs (thresholded digits). Chains run block Gibbs \
         sampling; after k steps the classifier reads the visible probabilities.\n\n\
         | start | steps | kept their digit (from test) | mean classifier confidence |\n|---|---:|---:|---:|\n",
        config.model.hidden, config.epochs
    );
    let mut numbers = Vec::new();
    let mut figures = Vec::new();
    for from_test in [true, false] {
        let start = if from_test {
            batch.images.clone()
        } else {
            Tensor::<2>::random(
                [n, config.model.visible],
                Distribution::Bernoulli(0.5),
                device,
            )
        };
        let mut rows = vec![tensor_values(
            start.clone().slice([0..chains, 0..config.model.visible]),
        )];
        let mut v = start;
        let mut done = 0;
        let started = std::time::Instant::now();
        for &k in &steps {
            let gibbs = state.rbm.gibbs_from_visible(v, k - done);
            done = k;
            let probabilities = gibbs.visible_probabilities.clone();
            let logits = classifier.forward(probabilities.clone());
            let confidence = burn::tensor::activation::softmax(logits, 1)
                .max_dim(1)
                .mean()
                .into_scalar::<f32>() as f64;
            let kept =
                from_test.then(|| accuracy(&classifier, probabilities.clone(), labels.clone()));
            md.push_str(&format!(
                "| {} | {k} | {} | {confidence:.3} |\n",
                if from_test { "test digits" } else { "noise" },
                kept.map_or("–".into(), |a| format!("{:.1}%", 100.0 * a))
            ));
            numbers.push(json!({ "from_test": from_test, "steps": k, "kept_label": kept, "confidence": confidence }));
            rows.push(tensor_values(
                probabilities
                    .clone()
                    .slice([0..chains, 0..config.model.visible]),
            ));
            v = gibbs.visible;
            if !from_test && k == *steps.last().expect("steps") {
                // Sampling cost: every step up to here, per 1000 chains.
                let sampling_ms_1000 = started.elapsed().as_secs_f64() * 1e6 / n as f64;
                let evaluator = eval::Evaluator::with_sets(
                    &eval::pretrained_dir(),
                    &ctx.train,
                    &ctx.test,
                    device,
                )?;
                let scores = evaluator.score_tensor(probabilities, data::Scale::ZeroOne);
                sample_scores = Some(json!({
                    "run": format!("{} hidden, PCD-1, {} epochs; {k} Gibbs steps from noise, {n} chains", config.model.hidden, config.epochs),
                    "scores": scores,
                    "train_seconds": base_records.iter().map(|r| f(r, "train_seconds")).sum::<f64>(),
                    "sampling_ms_1000": sampling_ms_1000,
                }));
            }
        }
        let labels_row = std::iter::once("start".to_string())
            .chain(steps.iter().map(|s| format!("{s}")))
            .flat_map(|l| std::iter::repeat_n(l, chains))
            .collect();
        let name = if from_test {
            "rbm-q3-chains-from-test.png"
        } else {
            "rbm-q3-chains-from-noise.png"
        };
        let (path, link) = ctx.args.figure(name);
        save_png(&digit_grid(&rows.concat(), chains, Some(labels_row)), &path)?;
        figures.push(format!("![{name}]({link})"));
    }
    if let Some(entry) = &sample_scores {
        let s = &entry["scores"];
        md.push_str(&format!(
            "\nThe {n} chains from noise after {} steps, scored as samples by the eval classifier: \
             FID {:.1}, {} classes covered, precision {:.3}, recall {:.3} (GAN-Q6 compares them \
             with the other families).\n",
            steps[steps.len() - 1],
            s["fid"].as_f64().unwrap_or(f64::NAN),
            s["classes"]["classes_covered"],
            s["precision_recall"]["precision"]
                .as_f64()
                .unwrap_or(f64::NAN),
            s["precision_recall"]["recall"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    md.push('\n');
    for figure in figures {
        md.push_str(&format!("{figure}\n\n"));
    }
    md.push_str(
        "Rows: the starting images, then the chains after 1, 10, 100 and 1000 steps. A chain started \
         at a digit first reproduces it (one step is a reconstruction), then mixes: the share of \
         chains the classifier still reads as their original digit is the table's third column. \
         Chains from noise need many steps to reach digit-like states; how far they get in 1000 steps \
         measures how well the sampler mixes between the model's modes.\n",
    );
    // Gibbs steps in training: CD-1, CD-k and PCD-1 on the same data, same budget of epochs.
    let k = if ctx.args.quick { 10 } else { 25 };
    md.push_str(&format!(
        "\n**Gibbs steps in training.** The same model trained with CD-1, CD-{k} and PCD-1 \
         ({} epochs), scored by AIS on {} test digits:\n\n\
         | training | AIS test log-likelihood | AIS ESS | PL exact | test reconstruction MSE | seconds per epoch |\n|---|---:|---:|---:|---:|---:|\n",
        config.epochs,
        ctx.test_images()
    ));
    let mut training = Vec::new();
    for (label, persistent, steps) in [
        ("CD-1".to_string(), false, 1),
        (format!("CD-{k}"), false, k),
        ("PCD-1".to_string(), true, 1),
    ] {
        let variant = config
            .clone()
            .with_persistent(persistent)
            .with_gibbs_steps(steps);
        let (trained, records) =
            ctx.train(&format!("q3-{}", label.to_lowercase()), &variant, |_| {
                json!({})
            })?;
        let (ll, estimate) = ctx.log_likelihood(&trained, &variant);
        let last = records.last().context("at least one epoch")?;
        let seconds =
            records.iter().map(|r| f(r, "train_seconds")).sum::<f64>() / records.len() as f64;
        md.push_str(&format!(
            "| {label} | {ll:.2} | {:.1} | {:.2} | {:.4} | {seconds:.1} |\n",
            estimate.effective_sample_size,
            f(last, "pseudo_likelihood_exact"),
            f(last, "test_reconstruction_mse")
        ));
        training.push(json!({ "training": label, "ais_test_log_likelihood": ll, "ais": estimate, "epochs": records }));
    }
    md.push_str(
        "\nCD-k starts its negative chain at the data: with k = 1 the chain barely moves, so the \
         update only pushes down the energy of states next to the data and leaves distant spurious \
         modes untouched (good reconstructions, worse likelihood). More steps make the negative \
         statistics closer to the model's, at k times the cost per update. PCD keeps its chains \
         running across updates, so they explore the model's modes at the cost of one step.\n",
    );
    write_section(
        &ctx.args.reports,
        "RBM-Q3",
        &md,
        &json!({ "config": config, "chains": numbers, "training": training, "sample_scores": sample_scores }),
    )
}

/// A mask hiding `n` rows or columns at one place.
type MaskOfCount = fn(usize) -> Mask;

/// RBM-Q4 and RBM-Q5: completing missing parts; errors and classifier accuracy.
fn q4_q5_missing_parts(ctx: &Experiments) -> anyhow::Result<()> {
    let config = ctx.base_config();
    let (state, _) = ctx.train("base", &config, |_| json!({}))?;
    let classifier = ctx.classifier()?;
    let steps = if ctx.args.quick { 50 } else { 200 };
    let measure = |mask: Mask, how: Completion| -> (f64, f64, f64, data::ImageBatch, Tensor<2>) {
        let batch = ctx.test_batch(&config, Some(mask));
        let known = batch.known.clone().expect("masked batch");
        let clean = batch.clean.clone().expect("masked batch");
        let completed = complete(&state.rbm, batch.images.clone(), known.clone(), steps, how);
        let error = missing_mse(completed.clone(), clean, known);
        let acc = accuracy(&classifier, completed.clone(), batch.labels.clone());
        let corrupted_acc = accuracy(&classifier, batch.images.clone(), batch.labels.clone());
        (error, acc, corrupted_acc, batch, completed)
    };

    // RBM-Q4: three ways of completing, on two kinds of hole.
    let clean_acc = {
        let batch = ctx.test_batch(&config, None);
        accuracy(&classifier, batch.images, batch.labels)
    };
    let mut q4 = format!(
        "Model: {} hidden units, PCD-1, {} epochs (thresholded digits); {} iterations per completion; \
         {} test digits. Classifier accuracy on the intact digits: {:.1}%.\n\n\
         | hole | method | MSE on missing pixels | classifier accuracy | accuracy left incomplete |\n|---|---|---:|---:|---:|\n",
        config.model.hidden,
        config.epochs,
        steps,
        ctx.test_images(),
        100.0 * clean_acc
    );
    let mut q4_numbers = Vec::new();
    let mut q4_figures = String::new();
    for mask in [
        Mask::BottomRows { n: 12 },
        Mask::Quadrant {
            quadrant: data::Quadrant::TopLeft,
        },
    ] {
        let mut rows = Vec::new();
        for how in Completion::ALL {
            let (error, acc, corrupted_acc, batch, completed) = measure(mask, how);
            q4.push_str(&format!(
                "| {} | {} | {error:.4} | {:.1}% | {:.1}% |\n",
                mask.label(),
                how.name(),
                100.0 * acc,
                100.0 * corrupted_acc
            ));
            q4_numbers.push(json!({ "mask": mask, "method": how, "mse_missing": error, "accuracy": acc, "accuracy_incomplete": corrupted_acc }));
            if rows.is_empty() {
                rows.push(tensor_values(
                    batch.clean.clone().expect("masked").slice([0..10, 0..784]),
                ));
                rows.push(tensor_values(batch.images.clone().slice([0..10, 0..784])));
            }
            rows.push(tensor_values(completed.slice([0..10, 0..784])));
        }
        let name = format!("rbm-q4-{}.png", mask.label());
        let (path, link) = ctx.args.figure(&name);
        save_png(&digit_grid(&rows.concat(), 10, None), &path)?;
        q4_figures.push_str(&format!("![{name}]({link})\n\n"));
    }
    q4.push_str(&format!(
        "\n{q4_figures}Rows of each figure: original, with the hole, then free-running Gibbs, clamped \
         Gibbs, clamped mean-field.\n\n"
    ));
    q4.push_str(
        "The free-running chain (the course's method) resamples the known pixels too, so it may \
         wander off the digit it was given; clamping the known pixels turns the chain into a sampler \
         of `p(missing | known)`, and mean-field replaces sampling by its deterministic average. \
         Compare the rows of the table: error on the hole and whether the completed digit is \
         recognised as the right one.\n",
    );
    write_section(
        &ctx.args.reports,
        "RBM-Q4",
        &q4,
        &json!({ "config": config, "results": q4_numbers }),
    )?;

    // RBM-Q5: more rows removed, at different places.
    let counts = [2usize, 4, 8, 12, 16, 20];
    let places: [(&str, MaskOfCount); 5] = [
        ("top rows", |n| Mask::TopRows { n }),
        ("middle rows", |n| Mask::MiddleRows { n }),
        ("bottom rows", |n| Mask::BottomRows { n }),
        ("left columns", |n| Mask::LeftColumns { n }),
        ("right columns", |n| Mask::RightColumns { n }),
    ];
    let mut accuracy_plot = LinePlot::new(
        "RBM-Q5: accuracy of completed digits",
        "rows (columns) removed",
        "classifier accuracy",
    );
    let mut error_plot = LinePlot::new(
        "RBM-Q5: error on the missing pixels",
        "rows (columns) removed",
        "MSE on missing pixels",
    );
    let mut q5 = format!(
        "Clamped mean-field completion ({steps} iterations) of {} test digits with rows (or columns) removed.\n\n\
         | place | {} |\n|---|{}\n",
        ctx.test_images(),
        counts.map(|n| format!("{n}")).join(" | "),
        "---:|".repeat(counts.len())
    );
    let mut q5_numbers = Vec::new();
    for (place, mask_of) in places {
        let mut acc_points = Vec::new();
        let mut err_points = Vec::new();
        let mut cells = Vec::new();
        for n in counts {
            let (error, acc, corrupted_acc, _, _) = measure(mask_of(n), Completion::MeanField);
            acc_points.push((n as f64, acc));
            err_points.push((n as f64, error));
            cells.push(format!("{:.1}% ({:.3})", 100.0 * acc, error));
            q5_numbers.push(json!({ "place": place, "n": n, "accuracy": acc, "mse_missing": error, "accuracy_incomplete": corrupted_acc }));
        }
        q5.push_str(&format!("| {place} | {} |\n", cells.join(" | ")));
        accuracy_plot = accuracy_plot.with_series(Series::new(place, acc_points));
        error_plot = error_plot.with_series(Series::new(place, err_points));
    }
    let (acc_path, acc_link) = ctx.args.figure("rbm-q5-accuracy.png");
    let (err_path, err_link) = ctx.args.figure("rbm-q5-error.png");
    accuracy_plot.save(&acc_path)?;
    error_plot.save(&err_path)?;
    q5.push_str(&format!(
        "\nCells: classifier accuracy on the completed digits (MSE on the missing pixels).\n\n\
         ![accuracy]({acc_link})\n\n![error]({err_link})\n\n\
         The more rows are missing, the less the known pixels constrain the hidden units and the \
         more the completion falls back on the model's prior; where the rows are removed matters \
         because MNIST digits carry their distinguishing strokes unevenly (the curves show where).\n"
    ));
    write_section(
        &ctx.args.reports,
        "RBM-Q5",
        &q5,
        &json!({ "config": config, "results": q5_numbers }),
    )
}

/// Loads the data every experiment uses.
pub fn context<'a>(
    args: &'a ExperimentArgs,
    selected: &'a SelectedDevice,
    data_dir: Option<&std::path::Path>,
) -> anyhow::Result<Experiments<'a>> {
    Ok(Experiments {
        args,
        selected,
        train: ImageSet::load(DataSetName::Mnist, Split::Train, data_dir)?,
        test: ImageSet::load(DataSetName::Mnist, Split::Test, data_dir)?,
    })
}
