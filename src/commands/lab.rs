//! `cdnprobe lab`: serve the embedded Atlassian-like origin and its edge until interrupted.

use crate::cli::{LabArgs, TopologyArg};
use crate::error::exit;
use crate::lab::{LabOptions, Topology};

pub async fn lab(args: LabArgs) -> anyhow::Result<i32> {
    let behaviors = match &args.behaviors {
        Some(f) => Some(crate::cloudfront::load::from_file_with(
            f,
            &super::check_config::load_options(&args.input),
        )?),
        None => None,
    };
    crate::lab::serve_forever(LabOptions {
        port: args.port,
        topology: match args.topology {
            TopologyArg::Proxy => Topology::Proxy,
            TopologyArg::CdnHost => Topology::CdnHost,
        },
        faults: super::run::parse_faults(&args.faults)?,
        behaviors,
        context_path: args.context_path.clone(),
        version: args.version,
        onboarding: args.onboarding,
        ..Default::default()
    })
    .await?;
    Ok(exit::OK)
}
