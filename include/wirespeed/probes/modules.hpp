#pragma once
// The probe modules, as a compile-time list: the one place a new probe type
// is registered (after its own header). Dispatch over it is a switch the
// compiler generates, taken per burst on the TX side (the TX lcore function
// is instantiated per module, see tx_lcore.cpp) and per reply on the RX side
// by IP protocol -- never a virtual call.
#include <utility>

#include "wirespeed/probes/icmp_echo.hpp"
#include "wirespeed/probes/tcp_syn.hpp"
#include "wirespeed/probes/udp.hpp"

namespace ws::probes {

template <class... M>
struct ModuleList {
    // Calls f.template operator()<M>() for the module of `kind`; false when none.
    template <class F>
    static bool with_kind(ProbeKind kind, F&& f) {
        return ((M::kind == kind ? (f.template operator()<M>(), true) : false) || ...);
    }
    // The same by IP protocol number (the reply side).
    template <class F>
    static bool with_ip_protocol(std::uint8_t ip_protocol, F&& f) {
        return ((M::ip_protocol == ip_protocol ? (f.template operator()<M>(), true) : false) || ...);
    }
    // By IPv6 next header (ICMPv6 echo is 58, not 1).
    template <class F>
    static bool with_ip_protocol6(std::uint8_t next_header, F&& f) {
        return ((M::ip_protocol6 == next_header ? (f.template operator()<M>(), true) : false) || ...);
    }
    template <class F>
    static void for_each(F&& f) {
        (f.template operator()<M>(), ...);
    }
};

using Modules = ModuleList<TcpSyn, Udp, IcmpEcho>;

inline ProbeKind kind_of(Proto proto) noexcept {
    ProbeKind kind = ProbeKind::tcp_syn;
    Modules::for_each([&]<class M>() {
        if (M::proto == proto) kind = M::kind;
    });
    return kind;
}

} // namespace ws::probes
