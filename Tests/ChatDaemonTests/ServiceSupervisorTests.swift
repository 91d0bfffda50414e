@testable import ChatDaemon
import ChatProtocol
import Testing

@Suite("ServiceSupervisor: the status line")
struct ServiceSupervisorTests {
    @Test func statusLine_countsInTheRightNumber_andNamesTheVersion() {
        #expect(ServiceSupervisor.statusLine(members: 1, bans: 0, rate: 0)
                == "1 member online, 0.0 msg/s relayed, 0 active bans, longest turn 0 ms, v\(ChatroomVersion.current)")
        #expect(ServiceSupervisor.statusLine(members: 12, bans: 1, rate: 3.46, longestTurn: 2_900_000)
                == "12 members online, 3.5 msg/s relayed, 1 active ban, longest turn 2 ms, v\(ChatroomVersion.current)")
    }

    @Test func statusLine_saysWhenStateIsNotSaved() {
        #expect(ServiceSupervisor.statusLine(members: 0, bans: 2, rate: 0, unsavedState: true)
            .hasSuffix("; STATE NOT SAVED (see the log)"))
    }
}
