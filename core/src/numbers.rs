//! The device's notice numbers: the blocks it takes up when an officer signs in, the block
//! it asks for in a sync when it runs low, the unused ends it gives back at sign-out. The
//! numbers themselves are drawn offline ([`crate::edit::next_notice_number`], and taken by
//! the notice's create in its own transaction).

use crate::context::DeviceContext;
use crate::error::{Error, Result};
use crate::model::Role;
use crate::numbering::{BLOCK_SIZE, LOW_WATER};
use crate::protocol::ReturnRequest;
use crate::store::numbers;

/// Whether the signed-in account issues notices (and so holds numbers).
fn issues_notices(ctx: &DeviceContext) -> bool {
    ctx.session().is_some_and(|s| matches!(s.user.role, Role::Officer | Role::Admin))
}

/// After a sign-in: take up what is left of this device's blocks (the server's view: after
/// a reinstall the device knows none), then top up.
pub async fn take_up(ctx: &DeviceContext) -> Result<()> {
    if !issues_notices(ctx) {
        return Ok(());
    }
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let blocks = ctx.transport.open_blocks(ctx.auth(&session, &device_id)).await?;
    ctx.store
        .write_async(move |tx| {
            for b in &blocks {
                numbers::put_block(tx, b)?;
            }
            Ok(())
        })
        .await?;
    top_up(ctx).await
}

/// Ask for another block when fewer than [`LOW_WATER`] numbers are left.
pub async fn top_up(ctx: &DeviceContext) -> Result<()> {
    if !issues_notices(ctx) || ctx.store.read_async(numbers::remaining).await? >= u64::from(LOW_WATER) {
        return Ok(());
    }
    let session = ctx.require_session()?;
    let device_id = ctx.device_id.to_string();
    let block = match ctx.transport.issue_block(ctx.auth(&session, &device_id), BLOCK_SIZE).await {
        // Not an issuer after all (the role changed on the server): nothing to do.
        Err(Error::Server { status: 403, .. }) => return Ok(()),
        other => other?,
    };
    ctx.store.write_async(move |tx| numbers::put_block(tx, &block)).await
}

/// At sign-out: give the unused ends back; the device keeps what the server did not take.
pub async fn give_back(ctx: &DeviceContext) -> Result<()> {
    let Some(session) = ctx.session() else { return Ok(()) };
    let ends = ctx.store.read_async(numbers::unused_ends).await?;
    if ends.is_empty() {
        return Ok(());
    }
    let device_id = ctx.device_id.to_string();
    let req = ReturnRequest { blocks: ends.clone() };
    ctx.transport.return_numbers(ctx.auth(&session, &device_id), &req).await?;
    ctx.store.write_async(move |tx| numbers::trim(tx, &ends)).await
}

/// Numbers this device has left.
pub fn left(ctx: &DeviceContext) -> Result<u64> {
    ctx.store.read(numbers::remaining)
}
