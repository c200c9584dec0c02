"""The vocabulary of synthetic plans: open-government topics as Chilean municipalities write them. Pure data.

Each topic has the pillar it serves, ways to title a commitment, the problem it answers, what is done,
milestones, and a methodology another commune could take. A synthetic commitment records its topic
in ``policy_area``; a methodology's id begins ``met-<topic>`` — so a judged query set knows, for every
generated document, which topic it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from .enums import Pillar

__all__ = ["TOPICS", "Topic"]

# participation, transparency, accountability and innovation (X)
P, T, A, X = (
    Pillar.PARTICIPATION_COLLABORATION,
    Pillar.TRANSPARENCY_ACCESS_INFORMATION,
    Pillar.ACCOUNTABILITY,
    Pillar.INNOVATION_TECHNOLOGY,
)


@dataclass(frozen=True)
class Topic:
    """One open-government topic and its words."""

    key: str
    area: str  # the commitment's policy_area
    pillars: tuple[Pillar, ...]
    titles: tuple[str, ...]
    problems: tuple[str, ...]
    actions: tuple[str, ...]
    milestones: tuple[str, ...]
    methodology: tuple[str, str, tuple[str, ...]]  # title, summary, steps


TOPICS: tuple[Topic, ...] = (
    Topic(
        "presupuesto",
        "presupuesto participativo",
        (P, A),
        (
            "Presupuesto participativo con votación vecinal",
            "Presupuestos participativos territoriales",
            "Votación ciudadana de proyectos de inversión barrial",
        ),
        (
            "Los vecinos no deciden en qué se invierte el presupuesto municipal de sus barrios.",
            "Los proyectos votados en años anteriores no tienen seguimiento público.",
        ),
        ("Asambleas territoriales, votación presencial y en línea, y un tablero de ejecución de proyectos.",),
        ("Reglamento del presupuesto participativo", "Votación de proyectos", "Tablero de ejecución publicado"),
        (
            "Guía de presupuesto participativo en cinco etapas",
            "Cómo organizar asambleas, priorizar proyectos y votar el presupuesto participativo.",
            ("Definir el monto y las reglas", "Asambleas por territorio", "Votación", "Seguimiento público"),
        ),
    ),
    Topic(
        "accesibilidad",
        "accesibilidad universal",
        (P, A),
        (
            "Municipio accesible para personas con discapacidad",
            "Plan de accesibilidad universal de espacios y trámites",
            "Inclusión de personas en situación de discapacidad",
        ),
        (
            "Las personas con discapacidad no pueden acceder a los edificios ni a los trámites municipales.",
            "No existe información en lengua de señas ni en lectura fácil.",
        ),
        ("Auditoría de accesibilidad, rampas, intérprete de lengua de señas y guías en lectura fácil.",),
        (
            "Auditoría de accesibilidad de edificios",
            "Atención con intérprete de lengua de señas",
            "Guía de trámites en lectura fácil",
        ),
        (
            "Auditoría participativa de accesibilidad",
            "Recorridos con organizaciones de personas con discapacidad para priorizar obras de accesibilidad.",
            ("Convocar organizaciones", "Recorrer edificios y calles", "Priorizar obras", "Publicar avances"),
        ),
    ),
    Topic(
        "clima",
        "acción climática",
        (P, T),
        (
            "Plan comunal de acción climática co-creado",
            "Adaptación al cambio climático con la comunidad",
            "Comuna resiliente frente al cambio climático",
        ),
        (
            "La comuna sufre olas de calor, sequía e inundaciones sin un plan de adaptación conocido por los vecinos.",
            "Las emisiones municipales no se miden ni se publican.",
        ),
        ("Mesas ambientales, inventario de emisiones publicado y arbolado urbano en sectores vulnerables.",),
        ("Inventario de emisiones publicado", "Mesas ambientales territoriales", "Plan de arbolado urbano"),
        (
            "Mesas ambientales para el plan de acción climática",
            "Mesas territoriales que priorizan medidas de adaptación y mitigación del cambio climático.",
            ("Diagnóstico climático", "Mesas por territorio", "Priorizar medidas", "Rendir cuentas"),
        ),
    ),
    Topic(
        "transparencia",
        "transparencia activa",
        (T,),
        (
            "Portal de transparencia municipal comprensible",
            "Transparencia activa con lenguaje claro",
            "Acceso a la información pública sin barreras",
        ),
        (
            "La información del portal de transparencia es difícil de encontrar y entender.",
            "Las solicitudes de acceso a la información se responden fuera de plazo.",
        ),
        ("Rediseño del portal de transparencia, lenguaje claro y seguimiento de solicitudes de información.",),
        ("Nuevo portal de transparencia", "Manual de lenguaje claro", "Tablero de solicitudes de información"),
        (
            "Portal de transparencia en lenguaje claro",
            "Método para reescribir la transparencia activa en lenguaje claro con usuarios reales.",
            ("Pruebas con usuarios", "Reescribir contenidos", "Publicar", "Medir comprensión"),
        ),
    ),
    Topic(
        "respuesta",
        "tiempos de respuesta",
        (X, A),
        (
            "Tiempos de respuesta municipal medidos y publicados",
            "Atención municipal oportuna y trazable",
            "Seguimiento en línea de solicitudes ciudadanas",
        ),
        (
            "Los vecinos no saben cuánto demora la municipalidad en responder sus solicitudes.",
            "Los reclamos se pierden entre direcciones sin respuesta.",
        ),
        ("Sistema único de solicitudes, número de seguimiento y publicación mensual de tiempos de respuesta.",),
        ("Sistema único de solicitudes", "Tablero público de tiempos de respuesta", "Encuesta de satisfacción"),
        (
            "Tablero de tiempos de respuesta",
            "Cómo medir y publicar cada mes los tiempos de respuesta de cada dirección municipal.",
            ("Registrar solicitudes", "Medir plazos", "Publicar tablero", "Revisar con el COSOC"),
        ),
    ),
    Topic(
        "cosoc",
        "consejo de la sociedad civil",
        (P,),
        (
            "Fortalecimiento del COSOC",
            "Consejo comunal de la sociedad civil con incidencia",
            "COSOC informado y participativo",
        ),
        (
            "El consejo comunal de organizaciones de la sociedad civil sesiona sin información ni incidencia.",
            "Las organizaciones no conocen las decisiones del COSOC.",
        ),
        ("Capacitación de consejeros, actas públicas y consulta obligatoria al COSOC en decisiones relevantes.",),
        ("Capacitación de consejeros del COSOC", "Actas del COSOC publicadas", "Reglamento de consulta al COSOC"),
        (
            "Escuela de consejeros COSOC",
            "Formación para consejeros de la sociedad civil sobre presupuesto, ordenanzas y participación.",
            ("Diagnóstico de necesidades", "Módulos de formación", "Práctica en sesiones", "Evaluación"),
        ),
    ),
    Topic(
        "cuentas",
        "rendición de cuentas",
        (A, P),
        (
            "Cuenta pública participativa",
            "Cuentas públicas territoriales con preguntas de vecinos",
            "Rendición de cuentas abierta a la comunidad",
        ),
        (
            "La cuenta pública es un discurso sin espacio para preguntas de la comunidad.",
            "Los vecinos no pueden evaluar la gestión municipal.",
        ),
        ("Cuentas públicas en cada territorio, preguntas previas y respuestas publicadas.",),
        ("Cuenta pública territorial", "Preguntas ciudadanas respondidas", "Informe de gestión en lenguaje claro"),
        (
            "Cuenta pública participativa por territorios",
            "Cómo llevar la cuenta pública a los barrios y responder por escrito las preguntas de los vecinos.",
            ("Recoger preguntas", "Cuentas en territorios", "Responder por escrito", "Publicar respuestas"),
        ),
    ),
    Topic(
        "datos",
        "datos abiertos",
        (T, X),
        (
            "Datos abiertos municipales",
            "Portal de datos abiertos con conjuntos pedidos por la comunidad",
            "Política municipal de datos abiertos",
        ),
        (
            "Los datos municipales están en documentos cerrados que nadie puede reutilizar.",
            "Investigadores y vecinos piden datos que no se publican.",
        ),
        ("Portal de datos abiertos, inventario de datos y publicación de conjuntos en formatos reutilizables.",),
        ("Inventario de datos municipales", "Portal de datos abiertos", "Conjuntos pedidos por la comunidad"),
        (
            "Inventario y apertura de datos municipales",
            "Método para inventariar, priorizar y publicar datos abiertos con licencia libre.",
            ("Inventariar datos", "Priorizar con usuarios", "Publicar con licencia", "Medir reutilización"),
        ),
    ),
    Topic(
        "residuos",
        "gestión de residuos",
        (P, X),
        (
            "Reciclaje comunitario y puntos limpios",
            "Gestión participativa de residuos domiciliarios",
            "Comuna sin basurales",
        ),
        (
            "La basura se acumula en microbasurales y el reciclaje es marginal.",
            "Los vecinos no saben dónde reciclar.",
        ),
        ("Puntos limpios, recolección diferenciada y educación ambiental para reciclar en cada barrio.",),
        ("Puntos limpios instalados", "Recolección diferenciada de reciclables", "Campaña de educación ambiental"),
        (
            "Monitores vecinales de reciclaje",
            "Vecinos capacitados que enseñan a reciclar y reportan microbasurales.",
            ("Convocar monitores", "Capacitar", "Campañas puerta a puerta", "Reportar y medir"),
        ),
    ),
    Topic(
        "seguridad",
        "seguridad comunitaria",
        (P,),
        (
            "Seguridad comunitaria con participación vecinal",
            "Plan comunal de seguridad co-diseñado",
            "Barrios seguros con las juntas de vecinos",
        ),
        (
            "La percepción de inseguridad es alta y los vecinos no participan del plan de seguridad.",
            "Los recursos de seguridad se asignan sin información por barrio.",
        ),
        ("Diagnósticos por barrio, mesas con juntas de vecinos y recuperación de espacios públicos.",),
        (
            "Diagnóstico de seguridad por barrio",
            "Mesas de seguridad con juntas de vecinos",
            "Espacios públicos recuperados",
        ),
        (
            "Marchas exploratorias de seguridad",
            "Recorridos con vecinas y vecinos para identificar puntos inseguros y priorizar soluciones.",
            ("Convocar", "Recorrer de noche y de día", "Mapear puntos", "Priorizar y rendir cuentas"),
        ),
    ),
    Topic(
        "juventud",
        "participación juvenil",
        (P,),
        (
            "Consejo comunal de juventudes",
            "Participación de niñas, niños y jóvenes en decisiones locales",
            "Jóvenes que deciden proyectos de su barrio",
        ),
        (
            "Los jóvenes no participan en las decisiones municipales.",
            "Niñas y niños no son consultados sobre los espacios que usan.",
        ),
        ("Consejo de juventudes, consultas en liceos y fondos concursables juveniles.",),
        ("Consejo de juventudes constituido", "Consulta en liceos", "Fondo concursable juvenil"),
        (
            "Consulta a niñas, niños y adolescentes",
            "Cómo consultar a estudiantes sobre los espacios públicos con talleres en colegios.",
            ("Acordar con colegios", "Talleres", "Sistematizar", "Devolver resultados"),
        ),
    ),
    Topic(
        "compras",
        "compras públicas",
        (T, A),
        (
            "Compras municipales abiertas",
            "Compras públicas a proveedores locales",
            "Transparencia en licitaciones y contratos municipales",
        ),
        (
            "Los contratos y licitaciones municipales son difíciles de seguir.",
            "Los proveedores locales no participan de las compras municipales.",
        ),
        ("Publicación de contratos en datos abiertos y capacitación a proveedores locales.",),
        ("Contratos publicados en datos abiertos", "Capacitación a proveedores locales", "Informe anual de compras"),
        (
            "Ferias de proveedores locales",
            "Encuentros para que emprendedores locales conozcan y postulen a las compras municipales.",
            ("Catastro de proveedores", "Feria", "Capacitación en licitaciones", "Seguimiento de contratos"),
        ),
    ),
    Topic(
        "integridad",
        "integridad y probidad",
        (A,),
        (
            "Integridad y prevención de conflictos de interés",
            "Sistema municipal de integridad",
            "Probidad con declaraciones de intereses publicadas",
        ),
        (
            "Los conflictos de interés de autoridades y funcionarios no se previenen ni se publican.",
            "No hay canal de denuncias confiable.",
        ),
        ("Código de ética, canal de denuncias y declaraciones de intereses publicadas.",),
        ("Código de ética aprobado", "Canal de denuncias", "Declaraciones de intereses publicadas"),
        (
            "Código de ética co-construido",
            "Talleres con funcionarios para escribir el código de ética y el protocolo de conflictos de interés.",
            ("Diagnóstico de riesgos", "Talleres", "Aprobación", "Capacitación continua"),
        ),
    ),
    Topic(
        "tramites",
        "gobierno digital",
        (X,),
        (
            "Trámites municipales en línea",
            "Municipio digital sin filas",
            "Digitalización de trámites y pagos",
        ),
        (
            "Los trámites municipales obligan a hacer filas y presentar papeles repetidos.",
            "Las personas mayores no logran usar los servicios digitales.",
        ),
        ("Trámites en línea, pago electrónico y puntos de ayuda digital para personas mayores.",),
        ("Trámites en línea disponibles", "Pago electrónico de derechos", "Puntos de ayuda digital"),
        (
            "Diseño de trámites con usuarios",
            "Método de diseño de servicios para simplificar trámites municipales con pruebas de usuarios.",
            ("Mapear el trámite", "Entrevistar usuarios", "Prototipar", "Medir y mejorar"),
        ),
    ),
)
