//! Signed management commands, carried out.

use embedded_storage_async::nor_flash::NorFlash;

use super::{Outcome, Session, app_list, error, store_code};
use crate::command::{Action, Command, CommandError};
use crate::protocol::{ErrorCode, Response};
use crate::store::Store;

fn command_code(e: &CommandError) -> ErrorCode {
    match e {
        CommandError::Malformed | CommandError::BadKey(_) => ErrorCode::BadCommand,
        CommandError::UnknownKey(_) => ErrorCode::UnknownKey,
        CommandError::BadSignature => ErrorCode::BadSignature,
        CommandError::WrongDevice => ErrorCode::WrongDevice,
        CommandError::Replayed { .. } => ErrorCode::Replayed,
        CommandError::Revoked(_) => ErrorCode::Revoked,
        _ => ErrorCode::Unauthorized,
    }
}

impl Session<'_> {
    /// Verifies a signed command and carries it out. The counter is
    /// written to the journal before the command takes effect, so a power
    /// cut in between loses the command but never lets it be replayed.
    pub(super) async fn command<F: NorFlash>(
        &mut self,
        store: &mut Store<F>,
        blob: &[u8],
    ) -> (Response, Option<Outcome>) {
        let verified = match self.check(store, blob) {
            Ok(v) => v,
            Err(e) => return (error(command_code(&e), e), None),
        };
        let Command { action, counter, .. } = verified.command;
        if action == Action::List {
            self.read_counter = counter;
            return (app_list(store), None);
        }
        if let Err(e) = store.record_counter(counter).await {
            return (error(store_code(&e), e), None);
        }
        let result = match action {
            Action::Remove(name) => store.remove(&name).await.map(|()| Some(Outcome::Removed { name })),
            Action::Rollback(name) => {
                store.rollback(&name).await.map(|image| Some(Outcome::RolledBack { name, image }))
            }
            Action::Confirm(name) => store.confirm(&name).await.map(|()| Some(Outcome::Confirmed { name })),
            Action::AllowDowngrade(name, version) => {
                self.downgrade = Some((name, version));
                Ok(None)
            }
            Action::Revoke(key) => store.revoke(key, true).await.map(|()| None),
            Action::Restore(key) => store.revoke(key, false).await.map(|()| None),
            Action::List => Ok(None),
        };
        match result {
            Ok(outcome) => (Response::Done, outcome),
            Err(e) => (error(store_code(&e), e), None),
        }
    }

    /// Signature, signer, device, rights, revocation and counter.
    fn check<F: NorFlash>(&self, store: &Store<F>, blob: &[u8]) -> Result<crate::command::Verified, CommandError> {
        let verified = Command::verify(blob, self.trust, &self.config.device)?;
        let state = store.state();
        if state.is_revoked(&verified.signer) {
            return Err(CommandError::Revoked(verified.signer));
        }
        let last = state.counter.max(self.read_counter);
        if verified.command.counter <= last {
            return Err(CommandError::Replayed { counter: verified.command.counter, last });
        }
        if let Action::Revoke(key) | Action::Restore(key) = verified.command.action
            && (key == verified.signer || self.trust.find(&key).is_none())
        {
            return Err(CommandError::BadKey(key));
        }
        Ok(verified)
    }
}
