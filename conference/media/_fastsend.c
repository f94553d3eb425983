/*
 * Protect and send one forwarded RTP packet in one call: the slot's hot path.
 *
 * A slot forwards each packet it takes to its subscriber: check that the DTLS
 * transport is still connected and the ICE pair and SRTP session unchanged,
 * copy header and payload into an SRTP buffer, srtp_protect, sendto. In
 * Python that is three frames, a cffi call and socket.sendto parsing the
 * address tuple again, once per packet per subscriber (190 subscribers: 190
 * times per packet of the speaker). Here it is one C call with the address
 * parsed once.
 *
 * libsrtp is the one pylibsrtp carries: its srtp_protect is passed in as a
 * function pointer (cffi's ffi.addressof), so nothing here links against it.
 * When a check fails (not connected, another pair, another session, a packet
 * too long for the buffer) the sender calls its fallback, the Python method
 * that does the same with every case handled (and rebinds this sender), so
 * behaviour is the Python path's. conference/media/fast_send.py is the
 * Python side; without this module (no compiler) it uses the Python path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* libsrtp: srtp_err_status_t srtp_protect(srtp_t ctx, void *rtp_hdr, int *pkt_octet_len) */
typedef int (*protect_fn)(void *ctx, void *rtp, int *length);

#define MAX_UDP_PAYLOAD 65507
#define SRTP_MAX_TRAILER_LEN (16 + 128)
#define BUFFER_BYTES (MAX_UDP_PAYLOAD + SRTP_MAX_TRAILER_LEN)

/* One buffer per thread: every call finishes with it before returning. */
static _Thread_local unsigned char buffer[BUFFER_BYTES];

/* Packets every sender of this process sent through C, for /metrics. */
static unsigned long long total_fast_sends;

static PyObject *str_state;
static PyObject *str_tx_srtp;
static PyObject *str_fileno;
static PyObject *one;

typedef struct {
    PyObject_HEAD
    /* What the fast path is valid for; any change sends the call to the fallback. */
    PyObject *dtls;       /* the RTCDtlsTransport */
    PyObject *connected;  /* its CONNECTED state object */
    PyObject *nominated;  /* aioice's Connection._nominated dict */
    PyObject *pair;       /* the nominated pair bound, or NULL: not bound */
    PyObject *session;    /* the pylibsrtp session bound */
    PyObject *sock;       /* the socket object (its fileno is read per call) */
    PyObject *fallback;   /* callable(header, payload) -> bool: the Python path */
    PyObject *oversized;  /* callable(size, rtcp) for EMSGSIZE */
    protect_fn protect;
    void *srtp;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned long long fast_sends; /* packets that took the C path */
} Sender;

static int
Sender_traverse(Sender *self, visitproc visit, void *arg)
{
    Py_VISIT(self->dtls);
    Py_VISIT(self->connected);
    Py_VISIT(self->nominated);
    Py_VISIT(self->pair);
    Py_VISIT(self->session);
    Py_VISIT(self->sock);
    Py_VISIT(self->fallback);
    Py_VISIT(self->oversized);
    return 0;
}

static int
Sender_clear(Sender *self)
{
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->connected);
    Py_CLEAR(self->nominated);
    Py_CLEAR(self->pair);
    Py_CLEAR(self->session);
    Py_CLEAR(self->sock);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->oversized);
    return 0;
}

static void
Sender_dealloc(Sender *self)
{
    PyObject_GC_UnTrack(self);
    Sender_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Sender_init(Sender *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"dtls", "connected", "nominated", "fallback", "oversized", NULL};
    PyObject *dtls, *connected, *nominated, *fallback, *oversized;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!OO", kwlist, &dtls, &connected,
                                     &PyDict_Type, &nominated, &fallback, &oversized))
        return -1;
    Sender_clear(self);
    Py_INCREF(dtls);
    self->dtls = dtls;
    Py_INCREF(connected);
    self->connected = connected;
    Py_INCREF(nominated);
    self->nominated = nominated;
    Py_INCREF(fallback);
    self->fallback = fallback;
    Py_INCREF(oversized);
    self->oversized = oversized;
    self->protect = NULL;
    self->srtp = NULL;
    return 0;
}

/* A numeric host and port (an aioice remote address) as a sockaddr. The family is
 * the host's: aioice gives an IPv6 address as (host, port) too. */
static int
parse_address(PyObject *addr, struct sockaddr_storage *out, socklen_t *len)
{
    const char *host;
    int port;
    unsigned int flowinfo = 0, scope_id = 0;
    if (!PyTuple_Check(addr)) {
        PyErr_SetString(PyExc_TypeError, "address must be a tuple");
        return -1;
    }
    if (!PyArg_ParseTuple(addr, "si|II", &host, &port, &flowinfo, &scope_id))
        return -1;
    if (port < 0 || port > 65535) {
        PyErr_Format(PyExc_ValueError, "not a port: %R", addr);
        return -1;
    }
    memset(out, 0, sizeof(*out));
    if (strchr(host, ':') == NULL) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv4 address: %R", addr);
            return -1;
        }
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return 0;
    }
    {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        char text[INET6_ADDRSTRLEN + 1];
        const char *percent = strchr(host, '%');
        size_t length = percent ? (size_t)(percent - host) : strlen(host);
        if (length >= sizeof(text)) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv6 address: %R", addr);
            return -1;
        }
        memcpy(text, host, length);
        text[length] = '\0';
        if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
            PyErr_Format(PyExc_ValueError, "not a numeric IPv6 address: %R", addr);
            return -1;
        }
        if (percent != NULL && scope_id == 0) {
            /* A zone (fe80::1%eth0) names the link: send as Python would, or not at all. */
            PyErr_Format(PyExc_ValueError, "an IPv6 zone is left to Python: %R", addr);
            return -1;
        }
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_flowinfo = htonl(flowinfo);
        sin6->sin6_scope_id = scope_id;
        *len = sizeof(*sin6);
        return 0;
    }
}

/* bind(pair, session, srtp, protect, sock, addr): the route and session to send on. */
static PyObject *
Sender_bind(Sender *self, PyObject *args)
{
    PyObject *pair, *session, *sock, *addr;
    unsigned long long srtp, protect;
    struct sockaddr_storage storage;
    socklen_t len = 0;
    if (!PyArg_ParseTuple(args, "OOKKOO", &pair, &session, &srtp, &protect, &sock, &addr))
        return NULL;
    if (parse_address(addr, &storage, &len) < 0)
        return NULL;
    if (!srtp || !protect) {
        PyErr_SetString(PyExc_ValueError, "null SRTP context or function");
        return NULL;
    }
    Py_INCREF(pair);
    Py_XSETREF(self->pair, pair);
    Py_INCREF(session);
    Py_XSETREF(self->session, session);
    Py_INCREF(sock);
    Py_XSETREF(self->sock, sock);
    self->srtp = (void *)(uintptr_t)srtp;
    self->protect = (protect_fn)(uintptr_t)protect;
    self->addr = storage;
    self->addrlen = len;
    Py_RETURN_NONE;
}

static PyObject *
Sender_unbind(Sender *self, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(self->pair);
    Py_CLEAR(self->session);
    Py_CLEAR(self->sock);
    self->srtp = NULL;
    self->protect = NULL;
    Py_RETURN_NONE;
}

static PyObject *
call_fallback(Sender *self, PyObject *header, PyObject *payload)
{
    return PyObject_CallFunctionObjArgs(self->fallback, header, payload, NULL);
}

/* Whether the bound route is still the one to send on; -1: an error is set. */
static int
still_bound(Sender *self)
{
    PyObject *value;
    int same;
    if (self->pair == NULL)
        return 0;
    value = PyObject_GetAttr(self->dtls, str_state);
    if (value == NULL)
        return -1;
    same = value == self->connected;
    Py_DECREF(value);
    if (!same)
        return 0;
    value = PyDict_GetItemWithError(self->nominated, one); /* borrowed */
    if (value == NULL && PyErr_Occurred())
        return -1;
    if (value != self->pair)
        return 0;
    value = PyObject_GetAttr(self->dtls, str_tx_srtp);
    if (value == NULL)
        return -1;
    same = value == self->session;
    Py_DECREF(value);
    return same;
}

/* __call__(header, payload) -> bool: protect header + payload and send it. */
static PyObject *
Sender_call(Sender *self, PyObject *args, PyObject *kwds)
{
    PyObject *header, *payload, *fd_object;
    Py_ssize_t header_len, payload_len, size;
    long fd;
    int length, status, bound;
    ssize_t sent;

    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "no keyword arguments");
        return NULL;
    }
    if (PyTuple_GET_SIZE(args) != 2) {
        PyErr_SetString(PyExc_TypeError, "expected (header, payload)");
        return NULL;
    }
    header = PyTuple_GET_ITEM(args, 0);
    payload = PyTuple_GET_ITEM(args, 1);
    if (!PyBytes_CheckExact(header) || !PyBytes_CheckExact(payload))
        return call_fallback(self, header, payload);

    bound = still_bound(self);
    if (bound < 0)
        return NULL;
    header_len = PyBytes_GET_SIZE(header);
    payload_len = PyBytes_GET_SIZE(payload);
    size = header_len + payload_len;
    if (!bound || size > BUFFER_BYTES - SRTP_MAX_TRAILER_LEN)
        return call_fallback(self, header, payload); /* rebinds, or counts and logs */

    fd_object = PyObject_CallMethodNoArgs(self->sock, str_fileno);
    if (fd_object == NULL)
        return NULL;
    fd = PyLong_AsLong(fd_object);
    Py_DECREF(fd_object);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (fd < 0)
        Py_RETURN_FALSE; /* closed: UDP would lose it too */

    memcpy(buffer, PyBytes_AS_STRING(header), (size_t)header_len);
    memcpy(buffer + header_len, PyBytes_AS_STRING(payload), (size_t)payload_len);
    length = (int)size;
    status = self->protect(self->srtp, buffer, &length);
    if (status)
        Py_RETURN_FALSE; /* as pylibsrtp.Error on the Python path */
    sent = sendto((int)fd, buffer, (size_t)length, 0, (struct sockaddr *)&self->addr,
                  self->addrlen);
    if (sent < 0) {
        if (errno == EMSGSIZE) {
            PyObject *result = PyObject_CallFunction(self->oversized, "nO", size, Py_False);
            if (result == NULL)
                return NULL;
            Py_DECREF(result);
        }
        Py_RETURN_FALSE; /* a full or closed socket: UDP would lose it too */
    }
    self->fast_sends++;
    total_fast_sends++;
    Py_RETURN_TRUE;
}

static PyObject *
Sender_get_bound(Sender *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->pair != NULL);
}

static PyObject *
Sender_get_fast_sends(Sender *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->fast_sends);
}

static PyMethodDef Sender_methods[] = {
    {"bind", (PyCFunction)Sender_bind, METH_VARARGS,
     "bind(pair, session, srtp, protect, sock, addr): send on this pair, SRTP context and "
     "socket until one of them changes."},
    {"unbind", (PyCFunction)Sender_unbind, METH_NOARGS, "Forget the route: calls go to the fallback."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Sender_getset[] = {
    {"bound", (getter)Sender_get_bound, NULL, "Whether a route is bound.", NULL},
    {"fast_sends", (getter)Sender_get_fast_sends, NULL, "Packets sent by the C path.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SenderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "conference.media._fastsend.Sender",
    .tp_doc = PyDoc_STR("Sender(dtls, connected, nominated, fallback, oversized): protect and "
                        "send forwarded RTP in one call; see conference/media/fast_send.py."),
    .tp_basicsize = sizeof(Sender),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Sender_init,
    .tp_dealloc = (destructor)Sender_dealloc,
    .tp_traverse = (traverseproc)Sender_traverse,
    .tp_clear = (inquiry)Sender_clear,
    .tp_call = (ternaryfunc)Sender_call,
    .tp_methods = Sender_methods,
    .tp_getset = Sender_getset,
};

static PyObject *
fastsend_total(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLongLong(total_fast_sends);
}

static PyMethodDef fastsend_functions[] = {
    {"total_fast_sends", fastsend_total, METH_NOARGS,
     "Packets every sender of this process sent through C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastsend_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "conference.media._fastsend",
    .m_methods = fastsend_functions,
    .m_doc = PyDoc_STR("Protect and send forwarded RTP in one C call (see fast_send.py)."),
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__fastsend(void)
{
    PyObject *module;
    str_state = PyUnicode_InternFromString("_state");
    str_tx_srtp = PyUnicode_InternFromString("_tx_srtp");
    str_fileno = PyUnicode_InternFromString("fileno");
    one = PyLong_FromLong(1);
    if (!str_state || !str_tx_srtp || !str_fileno || !one)
        return NULL;
    if (PyType_Ready(&SenderType) < 0)
        return NULL;
    module = PyModule_Create(&fastsend_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SenderType);
    if (PyModule_AddObject(module, "Sender", (PyObject *)&SenderType) < 0) {
        Py_DECREF(&SenderType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "BUFFER_BYTES", BUFFER_BYTES) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
