//! The Parquet tables are the CSV tables, typed: same columns, same rows,
//! bit-identical numbers.

use agora::output::{agent_steps_csv, agents_csv, assets_csv};
use agora::{RunOutput, Scenario, Simulation};
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::reader::{FileReader, SerializedFileReader};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A column's name, type and nullability.
type Column = (String, DataType, bool);

fn runs(scenario: &Scenario, n: u64) -> Vec<RunOutput> {
    (0..n)
        .map(|r| Simulation::new(scenario, r).unwrap().run().unwrap())
        .collect()
}

fn token_economy() -> (Scenario, Vec<RunOutput>) {
    let mut s = agora::scenario::example("token-economy").unwrap();
    s.set_steps(20).unwrap();
    let outs = runs(&s, 2);
    (s, outs)
}

/// Two assets, so that `agents` has `holdings_<ASSET>` columns.
fn two_assets() -> (Scenario, Vec<RunOutput>) {
    let s = Scenario::from_toml_str(TWO_ASSETS, "two-assets.toml").unwrap();
    let outs = runs(&s, 2);
    (s, outs)
}

const TWO_ASSETS: &str = r#"
[simulation]
steps = 15
seed = 3

[[assets]]
name = "A"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }

[[assets]]
name = "B"
pricing = { kind = "bonding_curve", curve = "exponential", a = 0.5, k = 0.0001 }

[[agents]]
group = "a-traders"
count = 200
balance = 1000.0
holdings = { asset = "A", total = 500.0, distribution = "uniform" }
policy = { kind = "random", asset = "A", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "b-traders"
count = 100
balance = 500.0
policy = { kind = "random", asset = "B", p_buy = 0.5, p_sell = 0.3, buy_fraction = 0.2, sell_fraction = 0.1 }
"#;

fn read(bytes: &[u8]) -> TestResult<Vec<RecordBatch>> {
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(bytes))?.build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

fn assert_par1(bytes: &[u8]) {
    assert!(bytes.len() > 8, "{} bytes", bytes.len());
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

/// Compares every cell of the Parquet table with the CSV text: the same
/// header, the same number of rows, integers and names equal as text, and
/// numbers bit-identical to the f64 the CSV text reads back as (an empty
/// cell is null). Returns the number of rows compared.
fn assert_same_table(parquet: &[u8], csv_bytes: &[u8]) -> TestResult<usize> {
    assert_par1(parquet);
    let batches = read(parquet)?;
    let mut csv = csv::Reader::from_reader(csv_bytes);
    let header: Vec<String> = csv.headers()?.iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = csv.records().collect::<Result<_, _>>()?;
    let schema = batches
        .first()
        .map(|b| b.schema())
        .ok_or("no record batch")?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, header);
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, records.len());
    assert!(rows > 0);
    let mut row = 0;
    for batch in &batches {
        for i in 0..batch.num_rows() {
            let record = &records[row];
            for (j, column) in batch.columns().iter().enumerate() {
                let text = &record[j];
                let at = format!("row {row}, column {}", header[j]);
                match column.data_type() {
                    DataType::Int64 => {
                        let a = column.as_any().downcast_ref::<Int64Array>().unwrap();
                        // an empty cell (a nullable count, such as an
                        // incentive row's agent) is null
                        if text.is_empty() {
                            assert!(a.is_null(i), "{at}: expected null");
                        } else {
                            assert!(!a.is_null(i), "{at}");
                            assert_eq!(a.value(i).to_string(), text, "{at}");
                        }
                    }
                    DataType::Utf8 => {
                        let a = column.as_any().downcast_ref::<StringArray>().unwrap();
                        assert_eq!(a.value(i), text, "{at}");
                    }
                    DataType::Float64 => {
                        let a = column.as_any().downcast_ref::<Float64Array>().unwrap();
                        if text.is_empty() {
                            assert!(a.is_null(i), "{at}: expected null");
                        } else {
                            let expected: f64 = text.parse()?;
                            assert!(!a.is_null(i), "{at}: null, expected {text}");
                            assert_eq!(
                                a.value(i).to_bits(),
                                expected.to_bits(),
                                "{at}: {} vs {text}",
                                a.value(i)
                            );
                        }
                    }
                    other => panic!("{at}: unexpected type {other}"),
                }
            }
            row += 1;
        }
    }
    Ok(rows)
}

fn types(bytes: &[u8]) -> TestResult<Vec<Column>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(bytes))?;
    Ok(builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect())
}

#[test]
fn assets_parquet_has_every_cell_of_assets_csv() -> TestResult {
    let (s, outs) = token_economy();
    let bytes = agora_parquet::assets_parquet(&s, &outs)?;
    let rows = assert_same_table(&bytes, &assets_csv(&s, &outs)?)?;
    assert_eq!(rows, 2 * 21 * s.assets().len());
    let (s, outs) = two_assets();
    let rows = assert_same_table(
        &agora_parquet::assets_parquet(&s, &outs)?,
        &assets_csv(&s, &outs)?,
    )?;
    assert_eq!(rows, 2 * 16 * 2);
    Ok(())
}

#[test]
fn agents_parquet_has_every_cell_of_agents_csv() -> TestResult {
    let (s, outs) = token_economy();
    let bytes = agora_parquet::agents_parquet(&s, &outs)?;
    let rows = assert_same_table(&bytes, &agents_csv(&s, &outs)?)?;
    assert_eq!(rows, 2 * 21 * s.groups().len());
    let (s, outs) = two_assets();
    let bytes = agora_parquet::agents_parquet(&s, &outs)?;
    let rows = assert_same_table(&bytes, &agents_csv(&s, &outs)?)?;
    assert_eq!(rows, 2 * 16 * 2);
    let names: Vec<String> = types(&bytes)?.into_iter().map(|t| t.0).collect();
    assert_eq!(
        &names[7..],
        [
            "holdings_A",
            "holdings_B",
            "locked_balance",
            "locked_holdings",
            "locked_holdings_A",
            "locked_holdings_B"
        ]
    );
    Ok(())
}

#[test]
fn agent_steps_parquet_has_every_cell_of_agent_steps_csv() -> TestResult {
    // two assets (per-asset columns), every other step, 7 agents a group
    let s = Scenario::from_toml_str(
        &format!("{TWO_ASSETS}\n[output.agent_steps]\nevery = 2\nsample = 7\n"),
        "t.toml",
    )?;
    let outs = runs(&s, 2);
    let bytes = agora_parquet::agent_steps_parquet(&s, &outs)?.expect("a table");
    let csv = agent_steps_csv(&s, &outs)?.expect("a table");
    let rows = assert_same_table(&bytes, &csv)?;
    // steps 0, 2, …, 14 and the last, 15; two groups of 7; two runs
    assert_eq!(rows, 2 * 9 * 2 * 7);
    let t = types(&bytes)?;
    let names: Vec<&str> = t.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names[..5], ["run", "step", "group", "agent", "balance"]);
    assert_eq!(t[3].1, DataType::Int64);
    assert_eq!(names.last(), Some(&"locked_holdings_B"));
    let (plain, outs) = two_assets();
    assert!(agora_parquet::agent_steps_parquet(&plain, &outs)?.is_none());
    Ok(())
}

#[test]
fn incentives_parquet_has_every_cell_of_incentives_csv() -> TestResult {
    let mut s = agora::scenario::example("incentives")?;
    s.set_steps(30)?;
    let outs = runs(&s, 2);
    let bytes = agora_parquet::incentives_parquet(&s, &outs)?.expect("a table");
    let csv = agora::output::incentives_csv(&s, &outs)?.expect("a table");
    let rows = assert_same_table(&bytes, &csv)?;
    assert_eq!(
        rows,
        outs.iter()
            .map(|o| o.records.incentives.len())
            .sum::<usize>()
    );
    let agent = types(&bytes)?.into_iter().find(|t| t.0 == "agent").unwrap();
    assert_eq!((agent.1, agent.2), (DataType::Int64, true));
    // without rules, no table
    let (s, outs) = token_economy();
    assert!(agora_parquet::incentives_parquet(&s, &outs)?.is_none());
    Ok(())
}

#[test]
fn alerts_parquet_has_every_cell_of_alerts_csv() -> TestResult {
    let mut s = agora::scenario::example("spoofing")?;
    s.set_steps(30)?;
    let outs = runs(&s, 1);
    let bytes = agora_parquet::alerts_parquet(&s, &outs)?.expect("a table");
    let csv = agora::output::alerts_csv(&s, &outs)?.expect("a table");
    let rows = assert_same_table(&bytes, &csv)?;
    assert!(rows > 0);
    assert_eq!(rows, outs[0].records.alerts.len());
    let names: Vec<String> = types(&bytes)?.into_iter().map(|t| t.0).collect();
    assert_eq!(names, agora::output::ALERT_COLUMNS);
    // without monitors, no table
    let (s, outs) = token_economy();
    assert!(agora_parquet::alerts_parquet(&s, &outs)?.is_none());
    Ok(())
}

#[test]
fn columns_are_typed() -> TestResult {
    use DataType::{Float64, Int64, Utf8};
    let (s, outs) = token_economy();
    let expect = |cols: &[(&str, DataType)]| -> Vec<Column> {
        cols.iter()
            .map(|(n, t)| (n.to_string(), t.clone(), *t == Float64))
            .collect()
    };
    assert_eq!(
        types(&agora_parquet::assets_parquet(&s, &outs)?)?,
        expect(&[
            ("run", Int64),
            ("step", Int64),
            ("asset", Utf8),
            ("price", Float64),
            ("supply", Float64),
            ("reserve", Float64),
            ("volume", Float64),
            ("trades", Int64),
            ("price_source", Utf8),
            ("best_bid", Float64),
            ("best_ask", Float64),
            ("capacity", Float64),
            ("requested", Float64),
            ("allocated", Float64),
        ])
    );
    assert_eq!(
        types(&agora_parquet::agents_parquet(&s, &outs)?)?,
        expect(&[
            ("run", Int64),
            ("step", Int64),
            ("group", Utf8),
            ("agents", Int64),
            ("balance", Float64),
            ("holdings", Float64),
            ("wealth", Float64),
            ("locked_balance", Float64),
            ("locked_holdings", Float64),
        ])
    );
    Ok(())
}

#[test]
fn pages_are_snappy_compressed() -> TestResult {
    let (s, outs) = token_economy();
    let bytes = agora_parquet::assets_parquet(&s, &outs)?;
    let reader = SerializedFileReader::new(Bytes::from(bytes))?;
    let meta = reader.metadata();
    assert!(meta.num_row_groups() >= 1);
    for rg in meta.row_groups() {
        for column in rg.columns() {
            assert_eq!(column.compression(), Compression::SNAPPY);
        }
    }
    Ok(())
}

#[test]
fn output_is_deterministic() -> TestResult {
    let (s, outs) = token_economy();
    assert_eq!(
        agora_parquet::assets_parquet(&s, &outs)?,
        agora_parquet::assets_parquet(&s, &outs)?
    );
    let (s2, outs2) = token_economy();
    assert_eq!(
        agora_parquet::agents_parquet(&s, &outs)?,
        agora_parquet::agents_parquet(&s2, &outs2)?
    );
    Ok(())
}

#[test]
fn no_runs_give_an_empty_table_with_the_schema() -> TestResult {
    let (s, _) = token_economy();
    let bytes = agora_parquet::assets_parquet(&s, &[])?;
    assert_par1(&bytes);
    assert_eq!(
        read(&bytes)?
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>(),
        0
    );
    assert_eq!(types(&bytes)?.len(), 14);
    Ok(())
}

#[test]
fn write_parquet_writes_both_tables_into_the_directory() -> TestResult {
    let (s, outs) = token_economy();
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("out");
    let written = agora_parquet::write_parquet(&dir, &s, &outs)?;
    assert_eq!(
        written,
        [dir.join("assets.parquet"), dir.join("agents.parquet")]
    );
    assert_eq!(
        std::fs::read(&written[0])?,
        agora_parquet::assets_parquet(&s, &outs)?
    );
    assert_eq!(
        std::fs::read(&written[1])?,
        agora_parquet::agents_parquet(&s, &outs)?
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [agora::output::MANIFEST, "agents.parquet", "assets.parquet"],
        "no temporary files left"
    );
    Ok(())
}

#[test]
fn table_parquet_keeps_columns_rows_and_bits() -> TestResult {
    let columns = vec![
        "assets.TOKEN.pricing.m".to_string(),
        "assets.TOKEN.volatility".to_string(),
    ];
    let rows = vec![
        vec![0.001, 0.1 + 0.2],
        vec![0.002, f64::NAN],
        vec![1e-300, -0.0],
    ];
    let bytes = agora_parquet::table_parquet(&columns, &rows)?;
    assert_par1(&bytes);
    let batches = read(&bytes)?;
    let names: Vec<String> = types(&bytes)?.into_iter().map(|t| t.0).collect();
    assert_eq!(names, columns);
    let mut got: Vec<Vec<Option<f64>>> = Vec::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            got.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        let a = c.as_any().downcast_ref::<Float64Array>().unwrap();
                        (!a.is_null(i)).then(|| a.value(i))
                    })
                    .collect(),
            );
        }
    }
    let bits = |v: &[Vec<Option<f64>>]| -> Vec<Vec<Option<u64>>> {
        v.iter()
            .map(|r| r.iter().map(|x| x.map(f64::to_bits)).collect())
            .collect()
    };
    let expected: Vec<Vec<Option<f64>>> = rows
        .iter()
        .map(|r| r.iter().map(|x| x.is_finite().then_some(*x)).collect())
        .collect();
    assert_eq!(bits(&got), bits(&expected), "non-finite numbers are null");
    Ok(())
}

#[test]
fn table_parquet_refuses_ragged_rows_and_duplicated_names() {
    let cols = vec!["a".to_string(), "b".to_string()];
    let err = agora_parquet::table_parquet(&cols, &[vec![1.0, 2.0], vec![3.0]]).unwrap_err();
    assert!(
        err.to_string()
            .contains("row 1 has 1 numbers, expected one per column (2)"),
        "{err}"
    );
    let dup = vec!["a".to_string(), "a".to_string()];
    let err = agora_parquet::table_parquet(&dup, &[]).unwrap_err();
    assert!(err.to_string().contains("\"a\" appears twice"), "{err}");
    let err = agora_parquet::table_parquet(&[], &[]).unwrap_err();
    assert!(err.to_string().contains("at least one column"), "{err}");
}

#[test]
fn sweep_parquet_has_every_cell_of_sweep_csv_with_names_as_text() -> TestResult {
    use agora::experiment::sweep::{parse_axis, sweep, sweep_csv, Grid};
    let mut s = agora::scenario::example("resource-proportional")?;
    s.set_steps(3)?;
    s.set_runs(2)?;
    let grid = Grid::cartesian(&[
        parse_axis("assets.COMPUTE.allocation=proportional,max_min")?,
        parse_axis("assets.COMPUTE.capacity=500,600")?,
    ])?;
    let table = sweep(&s, &grid, &|| {})?;
    let bytes = agora_parquet::sweep_parquet(&table)?;
    let rows = assert_same_table(&bytes, &sweep_csv(&table)?)?;
    assert_eq!(rows, 4);
    let types = types(&bytes)?;
    assert_eq!(types[0].1, DataType::Utf8, "the rule's names");
    assert_eq!(types[1].1, DataType::Float64, "the capacities");
    assert!(types[2..].iter().all(|t| t.1 == DataType::Float64));
    Ok(())
}
