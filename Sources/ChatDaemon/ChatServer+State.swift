import ChatCore
import ChatProtocol
import Logging

/// The state directory as the daemon uses it: saving durable changes before they are
/// confirmed, and the history every few seconds.
extension ChatServer {
    /// Sanctions and the topic are on disk before the change is confirmed. When they
    /// cannot be saved the change still holds in memory, whoever made it is told that a
    /// restart would lose it, the status line says so, and the save is retried every few
    /// seconds until it succeeds.
    func saveDurableState() {
        guard let stateStore else { return }
        do {
            try stateStore.saveDurable(room)
            if let failure = unsavedState {
                unsavedState = nil
                log(.notice, "state-saved", "the state directory is writable again; sanctions and topic saved", ["chat_reason": failure])
            }
        } catch {
            let first = unsavedState == nil
            unsavedState = error.description
            if first { log(.error, "state-save-failed", error.description, ["chat_reason": error.description]) }
            let warning = Notice.notSaved(error.description)
            if let actingConnection { reactor.send(FrameEncoder.frame(warning), to: actingConnection) }
            operatorWarnings?.append(warning)
        }
    }

    /// Every few seconds: the history if lines were relayed, and an unsaved change again.
    func saveHistoryIfChanged() {
        if unsavedState != nil { saveDurableState() }
        do { try stateStore?.saveHistoryIfChanged(room) } catch {
            log(.error, "state-save-failed", error.description, ["chat_reason": error.description])
        }
    }
}
