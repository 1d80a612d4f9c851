//! `aurum model train` and `aurum model score`: the scoring model's learner on a CSV of a
//! business's own past leads.
//!
//! Every column but the target is a feature: a column whose non-empty cells are all
//! numbers is numeric (standardised; an empty cell takes the mean and sets the column's
//! `missing` indicator), any other is categorical (one indicator per level seen at least
//! `min_level_rows` times, the rest pooled as `(other)`, an empty cell its own level).

use aurum::domain::learning::logistic::{self, Evaluation, FitSettings, Logit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// What the model file says it is (the format `aurum model load` reads).
pub const FORMAT: &str = aurum::domain::learning::offline::FORMAT;
const OTHER: &str = "(other)";
const EMPTY: &str = "(empty)";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Csv(String),
    #[error("line {line}, column {column:?}: {message}")]
    Cell {
        line: u64,
        column: String,
        message: String,
    },
    #[error("{0}")]
    Data(String),
    #[error("model file: {0}")]
    Model(String),
}

fn cell(line: u64, column: &str, message: impl Into<String>) -> ModelError {
    ModelError::Cell {
        line,
        column: column.to_owned(),
        message: message.into(),
    }
}

/// A parsed CSV: its header and its rows with their line numbers.
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, Vec<String>)>,
}

fn read_table<R: Read>(input: R) -> Result<Table, ModelError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_owned)
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(ModelError::Csv("the file has no header row".into()));
    }
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(ModelError::Csv(format!(
                "line 1: column {} has no name",
                i + 1
            )));
        }
        if header[..i].contains(name) {
            return Err(ModelError::Csv(format!(
                "line 1: column {name:?} appears twice"
            )));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        rows.push((line, record.iter().map(str::to_owned).collect()));
    }
    Ok(Table { header, rows })
}

fn csv_error(e: csv::Error) -> ModelError {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ModelError::Csv(format!(
            "{at}has {len} fields; the header has {expected_len}"
        )),
        csv::ErrorKind::Utf8 { .. } => ModelError::Csv(format!("{at}is not valid UTF-8")),
        _ => ModelError::Csv(format!("{at}{e}")),
    }
}

fn number(raw: &str) -> Option<f64> {
    raw.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// How one input column becomes features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnEncoding {
    Numeric {
        column: String,
        mean: f64,
        scale: f64,
        /// One more feature: 1 when the cell was empty.
        missing_indicator: bool,
    },
    Categorical {
        column: String,
        /// One feature per level; an unseen level scores as `(other)` when it is listed,
        /// else as none of them.
        levels: Vec<String>,
    },
}

impl ColumnEncoding {
    fn column(&self) -> &str {
        match self {
            ColumnEncoding::Numeric { column, .. } | ColumnEncoding::Categorical { column, .. } => {
                column
            }
        }
    }

    fn width(&self) -> usize {
        match self {
            ColumnEncoding::Numeric {
                missing_indicator, ..
            } => 1 + usize::from(*missing_indicator),
            ColumnEncoding::Categorical { levels, .. } => levels.len(),
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            ColumnEncoding::Numeric {
                column,
                missing_indicator,
                ..
            } => {
                let mut n = vec![column.clone()];
                if *missing_indicator {
                    n.push(format!("{column}=(missing)"));
                }
                n
            }
            ColumnEncoding::Categorical { column, levels } => {
                levels.iter().map(|l| format!("{column}={l}")).collect()
            }
        }
    }

    fn encode(&self, raw: &str, line: u64, out: &mut Vec<f64>) -> Result<(), ModelError> {
        match self {
            ColumnEncoding::Numeric {
                column,
                mean,
                scale,
                missing_indicator,
            } => {
                let (v, missing) = if raw.is_empty() {
                    (*mean, 1.0)
                } else {
                    let v = number(raw)
                        .ok_or_else(|| cell(line, column, format!("{raw:?} is not a number")))?;
                    (v, 0.0)
                };
                out.push((v - mean) / scale);
                if *missing_indicator {
                    out.push(missing);
                }
            }
            ColumnEncoding::Categorical { levels, .. } => {
                let level = if raw.is_empty() { EMPTY } else { raw };
                let at = levels
                    .iter()
                    .position(|l| l == level)
                    .or_else(|| levels.iter().position(|l| l == OTHER));
                out.extend((0..levels.len()).map(|i| if Some(i) == at { 1.0 } else { 0.0 }));
            }
        }
        Ok(())
    }
}

/// The model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineModel {
    pub format: String,
    pub target: String,
    pub columns: Vec<ColumnEncoding>,
    pub feature_names: Vec<String>,
    pub logit: Logit,
    pub fit: FitSettings,
    pub training_rows: usize,
    pub positives: usize,
    /// Figures of the same learner trained without the held-out rows, on them.
    pub held_out: Evaluation,
    /// The log loss of always predicting the training positive rate, on the held-out rows.
    pub held_out_base_rate_log_loss: f64,
}

impl OfflineModel {
    fn encode_row(
        &self,
        index: &BTreeMap<&str, usize>,
        line: u64,
        row: &[String],
    ) -> Result<Vec<f64>, ModelError> {
        let mut x = Vec::with_capacity(self.feature_names.len());
        for c in &self.columns {
            let raw = index.get(c.column()).map_or("", |&i| row[i].as_str());
            c.encode(raw, line, &mut x)?;
        }
        Ok(x)
    }
}

/// How `train` reads the data.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub target: String,
    /// Columns read as categorical even when every cell is a number (ZIP codes, ids).
    pub categorical: Vec<String>,
    /// A level seen on fewer rows than this is pooled into `(other)`.
    pub min_level_rows: usize,
    /// Every n-th row (by position) is held out for the printed figures.
    pub held_out_every: usize,
    pub fit: FitSettings,
}

impl TrainOptions {
    pub fn new(target: impl Into<String>) -> TrainOptions {
        TrainOptions {
            target: target.into(),
            categorical: Vec::new(),
            min_level_rows: 10,
            held_out_every: 5,
            fit: FitSettings::default(),
        }
    }
}

fn encodings(
    table: &Table,
    target: usize,
    rows: &[usize],
    options: &TrainOptions,
) -> Result<Vec<ColumnEncoding>, ModelError> {
    let mut out = Vec::new();
    for (c, name) in table.header.iter().enumerate() {
        if c == target {
            continue;
        }
        let cells: Vec<(u64, &str)> = rows
            .iter()
            .map(|&r| (table.rows[r].0, table.rows[r].1[c].as_str()))
            .collect();
        let filled: Vec<(u64, &str)> = cells
            .iter()
            .copied()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let numbers: Vec<f64> = filled.iter().filter_map(|(_, v)| number(v)).collect();
        let forced = options.categorical.iter().any(|n| n == name);
        if !forced
            && !filled.is_empty()
            && numbers.len() * 2 > filled.len()
            && numbers.len() < filled.len()
        {
            // Mostly numbers with a stray word: a typo, not a category.
            let (line, raw) = filled
                .iter()
                .find(|(_, v)| number(v).is_none())
                .copied()
                .unwrap_or((0, ""));
            return Err(cell(
                line,
                name,
                format!(
                    "{raw:?} is not a number (the column's other cells are numbers; pass --categorical {name} to read it as text)"
                ),
            ));
        }
        if !forced && !filled.is_empty() && numbers.len() == filled.len() {
            let mean = numbers.iter().sum::<f64>() / numbers.len() as f64;
            let var =
                numbers.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / numbers.len() as f64;
            let sd = var.sqrt();
            out.push(ColumnEncoding::Numeric {
                column: name.clone(),
                mean,
                scale: if sd > 1e-12 { sd } else { 1.0 },
                missing_indicator: filled.len() < cells.len(),
            });
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, v) in &cells {
                *counts
                    .entry(if v.is_empty() { EMPTY } else { v })
                    .or_default() += 1;
            }
            let mut levels: Vec<String> = Vec::new();
            let mut pooled = false;
            for (level, n) in counts {
                if n >= options.min_level_rows && level != OTHER {
                    levels.push(level.to_owned());
                } else {
                    pooled = true;
                }
            }
            if pooled {
                levels.push(OTHER.to_owned());
            }
            out.push(ColumnEncoding::Categorical {
                column: name.clone(),
                levels,
            });
        }
    }
    Ok(out)
}

fn labels(table: &Table, target: usize) -> Result<Vec<bool>, ModelError> {
    let name = &table.header[target];
    table
        .rows
        .iter()
        .map(|(line, row)| match row[target].as_str() {
            "1" | "1.0" => Ok(true),
            "0" | "0.0" => Ok(false),
            "" => Err(cell(*line, name, "the target is empty; it must be 0 or 1")),
            other => Err(cell(
                *line,
                name,
                format!("the target is {other:?}; it must be 0 or 1"),
            )),
        })
        .collect()
}

fn fit_on(
    table: &Table,
    target: usize,
    ys: &[bool],
    rows: &[usize],
    options: &TrainOptions,
) -> Result<OfflineModel, ModelError> {
    let columns = encodings(table, target, rows, options)?;
    let feature_names: Vec<String> = columns.iter().flat_map(ColumnEncoding::names).collect();
    let dim: usize = columns.iter().map(ColumnEncoding::width).sum();
    let mut model = OfflineModel {
        format: FORMAT.to_owned(),
        target: table.header[target].clone(),
        columns,
        feature_names,
        logit: Logit::zeros(dim),
        fit: options.fit,
        training_rows: rows.len(),
        positives: rows.iter().filter(|&&r| ys[r]).count(),
        held_out: logistic::evaluate(&[], &[]),
        held_out_base_rate_log_loss: 0.0,
    };
    let index = column_index(&table.header);
    let xs = rows
        .iter()
        .map(|&r| model.encode_row(&index, table.rows[r].0, &table.rows[r].1))
        .collect::<Result<Vec<_>, _>>()?;
    let y: Vec<bool> = rows.iter().map(|&r| ys[r]).collect();
    model.logit = logistic::fit(&xs, &y, &Logit::zeros(dim), &options.fit)
        .map_err(|e| ModelError::Data(format!("cannot fit: {e}")))?
        .logit;
    Ok(model)
}

fn column_index(header: &[String]) -> BTreeMap<&str, usize> {
    header
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect()
}

/// Trains on every row; the figures come from the same learner trained on the rows not
/// held out and scored on the held-out ones.
pub fn train<R: Read>(input: R, options: &TrainOptions) -> Result<OfflineModel, ModelError> {
    let table = read_table(input)?;
    let target = table
        .header
        .iter()
        .position(|h| *h == options.target)
        .ok_or_else(|| {
            ModelError::Data(format!(
                "no column {:?} for the target; the header has {}",
                options.target,
                table.header.join(", ")
            ))
        })?;
    for name in &options.categorical {
        if !table.header.contains(name) {
            return Err(ModelError::Data(format!(
                "--categorical {name:?}: the header has no such column"
            )));
        }
    }
    let ys = labels(&table, target)?;
    let every = options.held_out_every.max(2);
    if table.rows.len() < 2 * every {
        return Err(ModelError::Data(format!(
            "{} data rows; training needs at least {}",
            table.rows.len(),
            2 * every
        )));
    }
    let positives = ys.iter().filter(|y| **y).count();
    if positives == 0 || positives == ys.len() {
        return Err(ModelError::Data(format!(
            "every row's {} is {}: the model needs both outcomes",
            options.target,
            u8::from(positives > 0)
        )));
    }
    let (held, kept): (Vec<usize>, Vec<usize>) =
        (0..table.rows.len()).partition(|r| r % every == every - 1);
    let partial = fit_on(&table, target, &ys, &kept, options)?;
    let index = column_index(&table.header);
    let mut predictions = Vec::with_capacity(held.len());
    for &r in &held {
        let (line, row) = &table.rows[r];
        predictions.push(
            partial
                .logit
                .probability(&partial.encode_row(&index, *line, row)?),
        );
    }
    let held_labels: Vec<bool> = held.iter().map(|&r| ys[r]).collect();
    let base_rate = (kept.iter().filter(|&&r| ys[r]).count() as f64 / kept.len() as f64)
        .clamp(1e-6, 1.0 - 1e-6);
    let all: Vec<usize> = (0..table.rows.len()).collect();
    let mut model = fit_on(&table, target, &ys, &all, options)?;
    model.held_out = logistic::evaluate(&predictions, &held_labels);
    model.held_out_base_rate_log_loss =
        logistic::evaluate(&vec![base_rate; held.len()], &held_labels).log_loss;
    Ok(model)
}

/// Reads a model file, refusing another format or a model whose numbers do not add up.
pub fn read_model(text: &str) -> Result<OfflineModel, ModelError> {
    let model: OfflineModel = serde_json::from_str(text)
        .map_err(|e| ModelError::Model(format!("not a model file: {e}")))?;
    if model.format != FORMAT {
        return Err(ModelError::Model(format!(
            "format {:?}; this version reads {FORMAT:?}",
            model.format
        )));
    }
    let dim: usize = model.columns.iter().map(ColumnEncoding::width).sum();
    if model.logit.coefficients.len() != dim
        || !model.logit.intercept.is_finite()
        || model.logit.coefficients.iter().any(|c| !c.is_finite())
    {
        return Err(ModelError::Model(
            "its coefficients do not match its columns".into(),
        ));
    }
    Ok(model)
}

/// Writes one `probability` per input row, in order. The target column, when present, is
/// ignored; every other column the model reads must be there.
pub fn score<R: Read, W: Write>(
    model: &OfflineModel,
    input: R,
    output: W,
) -> Result<usize, ModelError> {
    let table = read_table(input)?;
    let index = column_index(&table.header);
    for c in &model.columns {
        if !index.contains_key(c.column()) {
            return Err(ModelError::Data(format!(
                "no column {:?}: the model reads it",
                c.column()
            )));
        }
    }
    let mut writer = csv::Writer::from_writer(output);
    let io = |e: csv::Error| ModelError::Csv(format!("cannot write: {e}"));
    writer.write_record(["probability"]).map_err(io)?;
    for (line, row) in &table.rows {
        let p = model
            .logit
            .probability(&model.encode_row(&index, *line, row)?);
        writer.write_record([format!("{p:.6}")]).map_err(io)?;
    }
    writer
        .flush()
        .map_err(|e| ModelError::Csv(format!("cannot write: {e}")))?;
    Ok(table.rows.len())
}

/// What `train` prints.
pub fn train_summary(m: &OfflineModel) -> String {
    let auc = m.held_out.auc.map_or("-".to_owned(), |a| format!("{a:.4}"));
    format!(
        "trained on {} rows ({} with {} = 1), {} features\nheld-out rows: {}; log loss {:.4} (base rate {:.4}); AUC {auc}\n",
        m.training_rows,
        m.positives,
        m.target,
        m.feature_names.len(),
        m.held_out.samples,
        m.held_out.log_loss,
        m.held_out_base_rate_log_loss,
    )
}

/// A `model` subcommand, as the CLI parsed it.
#[derive(Debug, Clone)]
pub enum Command {
    Train {
        csv: std::path::PathBuf,
        out: std::path::PathBuf,
        options: TrainOptions,
    },
    Score {
        csv: std::path::PathBuf,
        model: std::path::PathBuf,
        out: std::path::PathBuf,
    },
}

fn open(path: &std::path::Path) -> Result<std::fs::File, ModelError> {
    std::fs::File::open(path)
        .map_err(|e| ModelError::Data(format!("cannot read {}: {e}", path.display())))
}

/// Runs a `model` subcommand: reads and writes the files, prints what `train` found.
pub fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Train { csv, out, options } => {
            let model = train(
                std::io::BufReader::new(open(&csv).map_err(|e| e.to_string())?),
                &options,
            )
            .map_err(|e| format!("{}: {e}", csv.display()))?;
            let mut text = serde_json::to_string_pretty(&model).map_err(|e| e.to_string())?;
            text.push('\n');
            std::fs::write(&out, &text)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            print!("{}", train_summary(&model));
            println!("model written to {}", out.display());
            match aurum::domain::learning::offline::OfflineModelFile::parse(&text)
                .and_then(|f| f.conversion())
            {
                Ok(_) => println!(
                    "the live scorer can load it: aurum model load {}",
                    out.display()
                ),
                Err(e) => println!("not loadable into the live scorer: {e}"),
            }
        }
        Command::Score { csv, model, out } => {
            let text = std::fs::read_to_string(&model)
                .map_err(|e| format!("cannot read {}: {e}", model.display()))?;
            let m = read_model(&text).map_err(|e| format!("{}: {e}", model.display()))?;
            let input = std::io::BufReader::new(open(&csv).map_err(|e| e.to_string())?);
            // Written beside the target and renamed, so a failure leaves no partial file.
            let partial = out.with_extension("partial");
            let file = std::fs::File::create(&partial)
                .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
            match score(&m, input, std::io::BufWriter::new(file)) {
                Ok(rows) => {
                    std::fs::rename(&partial, &out)
                        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                    println!("{rows} rows scored to {}", out.display());
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(format!("{}: {e}", csv.display()));
                }
            }
        }
    }
    Ok(())
}
