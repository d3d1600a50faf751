// The pesakit Android library as a stand-alone Gradle build. To build it inside an app
// instead, copy this directory into the app's build (or `includeBuild` it) and depend on
// io.pesakit:pesakit-android. scripts/build-android fills src/main/jniLibs and
// src/main/kotlin first.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "pesakit-android"
